using System.Collections.Immutable;

namespace Stepcast.Grains.Tenants;

/// <summary>
/// A brand using Stepcast from its own systems, keyed by tenant id. Owns LINE channels (a channel belongs to one
/// tenant, see <see cref="IChannelRegistrationGrain"/>) and issues the API keys that act for it.
/// </summary>
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Creates the tenant; false when it already exists (nothing changes).</summary>
    Task<bool> Create(string name);

    [Orleans.Concurrency.ReadOnly]
    Task<TenantView?> Get();

    /// <summary>Issues a key. The returned <see cref="CreatedApiKey.Key"/> is the only time the secret exists outside the caller.</summary>
    Task<CreatedApiKey> CreateApiKey(string? name, ApiScope scopes);

    [Orleans.Concurrency.ReadOnly]
    Task<ImmutableArray<ApiKeyView>> ListApiKeys();

    /// <summary>False when the tenant has no such key.</summary>
    Task<bool> RevokeApiKey(string keyId);

    Task AddChannel(string channelId);

    /// <summary>The tenant's channel ids in ordinal order.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<ImmutableArray<string>> GetChannels();
}

[GenerateSerializer, Immutable]
public sealed record TenantView
{
    [Id(0)] public required string TenantId { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public DateTimeOffset CreatedAt { get; init; }
    [Id(3)] public int ChannelCount { get; init; }
}

/// <summary>A key as listed: never its secret or hash.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyView
{
    [Id(0)] public required string KeyId { get; init; }
    [Id(1)] public string? Name { get; init; }
    [Id(2)] public ApiScope Scopes { get; init; }
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    [Id(4)] public DateTimeOffset? RevokedAt { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record CreatedApiKey
{
    [Id(0)] public required ApiKeyView Info { get; init; }
    /// <summary>The whole key, <c>sk_{keyId}_{secret}</c>; not stored anywhere.</summary>
    [Id(1)] public required string Key { get; init; }

    public override string ToString() => $"CreatedApiKey {{ KeyId = {Info.KeyId}, Key = *** }}";
}
