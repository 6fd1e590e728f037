using Stepcast.Grains.Quota;

namespace Stepcast.Grains.Tenants;

/// <summary>
/// Which tenant a LINE channel belongs to, keyed by channel id. The first tenant to register a channel owns it for
/// good; every API call on <c>/api/v1/channels/{channelId}</c> checks it. Channels from configuration (and the
/// sandbox) have no registration and so are out of every API key's reach.
/// </summary>
public interface IChannelRegistrationGrain : IGrainWithStringKey
{
    /// <summary>Claims the channel for <paramref name="tenantId"/>, or updates the registration when it already owns it.</summary>
    Task<ChannelClaimOutcome> Register(string tenantId, QuotaSettings plan);

    [Orleans.Concurrency.ReadOnly]
    Task<ChannelRegistration?> Get();
}

public enum ChannelClaimOutcome
{
    Registered,
    Updated,
    OwnedByAnotherTenant,
}

/// <summary>[Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer, Immutable]
public sealed record ChannelRegistration
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string TenantId { get; init; }
    [Id(2)] public DateTimeOffset RegisteredAt { get; init; }
    [Id(3)] public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>The plan as registered (the quota grain holds the live budget).</summary>
    [Id(4)] public QuotaSettings Plan { get; init; } = new();
}
