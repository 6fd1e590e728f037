using System.Collections.Immutable;

namespace Stepcast.Grains.Tenants;

/// <summary>[Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class TenantState
{
    [Id(0)] public string? Name { get; set; }
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    /// <summary>Kept in ordinal order, so pages of channels are stable.</summary>
    [Id(2)] public List<string> Channels { get; set; } = [];
    [Id(3)] public List<ApiKeyView> Keys { get; set; } = [];
}

public sealed class TenantGrain(
    [PersistentState("tenant")] IPersistentState<TenantState> state,
    TimeProvider timeProvider) : Grain, ITenantGrain
{
    private string TenantId => this.GetPrimaryKeyString();

    async Task<bool> ITenantGrain.Create(string name)
    {
        if (state.State.Name is not null)
        {
            return false;
        }

        state.State.Name = name;
        state.State.CreatedAt = timeProvider.GetUtcNow();
        await state.WriteStateAsync();
        return true;
    }

    Task<TenantView?> ITenantGrain.Get() => Task.FromResult(state.State.Name is null ? null : new TenantView
    {
        TenantId = TenantId,
        Name = state.State.Name,
        CreatedAt = state.State.CreatedAt,
        ChannelCount = state.State.Channels.Count,
    });

    async Task<CreatedApiKey> ITenantGrain.CreateApiKey(string? name, ApiScope scopes)
    {
        EnsureExists();
        var (keyId, key) = ApiKeySecret.Generate();
        var now = timeProvider.GetUtcNow();
        // The key grain first: a key listed by its tenant but missing in the index could never be used or revoked.
        await GrainFactory.GetGrain<IApiKeyGrain>(keyId).Create(new ApiKeyRecord
        {
            KeyId = keyId,
            TenantId = TenantId,
            Hash = ApiKeySecret.Hash(key),
            Scopes = scopes,
            Name = name,
            CreatedAt = now,
        });
        var view = new ApiKeyView { KeyId = keyId, Name = name, Scopes = scopes, CreatedAt = now };
        state.State.Keys.Add(view);
        await state.WriteStateAsync();
        return new CreatedApiKey { Info = view, Key = key };
    }

    Task<ImmutableArray<ApiKeyView>> ITenantGrain.ListApiKeys() => Task.FromResult(state.State.Keys.ToImmutableArray());

    async Task<bool> ITenantGrain.RevokeApiKey(string keyId)
    {
        var index = state.State.Keys.FindIndex(k => k.KeyId == keyId);
        if (index < 0)
        {
            return false;
        }

        await GrainFactory.GetGrain<IApiKeyGrain>(keyId).Revoke();
        if (state.State.Keys[index].RevokedAt is null)
        {
            state.State.Keys[index] = state.State.Keys[index] with { RevokedAt = timeProvider.GetUtcNow() };
            await state.WriteStateAsync();
        }

        return true;
    }

    async Task ITenantGrain.AddChannel(string channelId)
    {
        EnsureExists();
        var index = state.State.Channels.BinarySearch(channelId, StringComparer.Ordinal);
        if (index < 0)
        {
            state.State.Channels.Insert(~index, channelId);
            await state.WriteStateAsync();
        }
    }

    Task<ImmutableArray<string>> ITenantGrain.GetChannels() => Task.FromResult(state.State.Channels.ToImmutableArray());

    private void EnsureExists()
    {
        if (state.State.Name is null)
        {
            throw new InvalidOperationException($"Tenant '{TenantId}' does not exist.");
        }
    }
}
