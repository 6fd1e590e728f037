namespace Stepcast.Grains.Tenants;

[GenerateSerializer]
public sealed class ApiKeyState
{
    [Id(0)] public ApiKeyRecord? Key { get; set; }
}

public sealed class ApiKeyGrain(
    [PersistentState("apiKey")] IPersistentState<ApiKeyState> state,
    TimeProvider timeProvider) : Grain, IApiKeyGrain
{
    async Task IApiKeyGrain.Create(ApiKeyRecord key)
    {
        if (state.State.Key is not null)
        {
            throw new InvalidOperationException("An API key with this id already exists.");
        }

        state.State.Key = key;
        await state.WriteStateAsync();
    }

    Task<ApiKeyIdentity?> IApiKeyGrain.Verify(byte[] keyHash)
    {
        var key = state.State.Key;
        var valid = key is { RevokedAt: null } && ApiKeySecret.Matches(key.Hash, keyHash);
        return Task.FromResult(valid ? new ApiKeyIdentity(key!.KeyId, key.TenantId, key.Scopes) : null);
    }

    async Task IApiKeyGrain.Revoke()
    {
        if (state.State.Key is { RevokedAt: null } key)
        {
            state.State.Key = key with { RevokedAt = timeProvider.GetUtcNow() };
            await state.WriteStateAsync();
        }
    }
}
