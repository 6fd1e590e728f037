using Stepcast.Grains.Quota;

namespace Stepcast.Grains.Tenants;

[GenerateSerializer]
public sealed class ChannelRegistrationState
{
    [Id(0)] public ChannelRegistration? Registration { get; set; }
}

public sealed class ChannelRegistrationGrain(
    [PersistentState("channelRegistration")] IPersistentState<ChannelRegistrationState> state,
    TimeProvider timeProvider) : Grain, IChannelRegistrationGrain
{
    async Task<ChannelClaimOutcome> IChannelRegistrationGrain.Register(string tenantId, QuotaSettings plan)
    {
        var now = timeProvider.GetUtcNow();
        var current = state.State.Registration;
        if (current is not null && current.TenantId != tenantId)
        {
            return ChannelClaimOutcome.OwnedByAnotherTenant;
        }

        state.State.Registration = current is null
            ? new ChannelRegistration { ChannelId = this.GetPrimaryKeyString(), TenantId = tenantId, RegisteredAt = now, UpdatedAt = now, Plan = plan }
            : current with { UpdatedAt = now, Plan = plan };
        await state.WriteStateAsync();
        return current is null ? ChannelClaimOutcome.Registered : ChannelClaimOutcome.Updated;
    }

    Task<ChannelRegistration?> IChannelRegistrationGrain.Get() => Task.FromResult(state.State.Registration);
}
