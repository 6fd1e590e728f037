namespace Stepcast.Grains.Tenants;

/// <summary>One API key, keyed by its key id (the part between <c>sk_</c> and the secret). Holds only the key's hash.</summary>
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>Stores a new key; called once by its tenant.</summary>
    Task Create(ApiKeyRecord key);

    /// <summary>The key's tenant and scopes when <paramref name="keyHash"/> is the stored hash and the key is not revoked; otherwise null.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<ApiKeyIdentity?> Verify(byte[] keyHash);

    Task Revoke();
}

/// <summary>An API key's stored form. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyRecord
{
    [Id(0)] public required string KeyId { get; init; }
    [Id(1)] public required string TenantId { get; init; }
    /// <summary>SHA-256 of the whole key (<see cref="ApiKeySecret.Hash"/>).</summary>
    [Id(2)] public required byte[] Hash { get; init; }
    [Id(3)] public required ApiScope Scopes { get; init; }
    [Id(4)] public string? Name { get; init; }
    [Id(5)] public DateTimeOffset CreatedAt { get; init; }
    [Id(6)] public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>Who a verified key speaks for.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyIdentity(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string TenantId,
    [property: Id(2)] ApiScope Scopes);
