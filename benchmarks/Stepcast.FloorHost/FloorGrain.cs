namespace Stepcast.FloorHost;

/// <summary>A friend reduced to what the framework charges for it: an activation and, if asked, one state write.</summary>
public interface IFloorFriendGrain : IGrainWithStringKey
{
    Task Follow(bool write);

    /// <summary>
    /// Waits in memory for <paramref name="dueAt"/> on a grain timer, then has its silo's multicaster send to it with
    /// the others due then and writes its state once: the least a due friend can cost (see <see cref="FloorMulticaster"/>).
    /// </summary>
    Task Enroll(DateTimeOffset dueAt);
}

/// <summary>[Id] numbers are persisted, in memory only here.</summary>
[GenerateSerializer]
public sealed record FloorFriendState(
    [property: Id(0)] DateTimeOffset FollowedAt,
    [property: Id(1)] string ScenarioId,
    [property: Id(2)] DateTimeOffset? DueAt = null,
    [property: Id(3)] DateTimeOffset? SentAt = null);

// The friend grain's own deactivation age, so both hold as many activations through a run.
[CollectionAgeLimit(Minutes = 2)]
public sealed class FloorFriendGrain(
    [PersistentState("friend")] IPersistentState<FloorFriendState> state,
    FloorMulticaster multicaster,
    TimeProvider timeProvider) : Grain, IFloorFriendGrain
{
    public async Task Follow(bool write)
    {
        if (write)
        {
            state.State = new FloorFriendState(timeProvider.GetUtcNow(), "welcome");
            await state.WriteStateAsync();
        }
    }

    public async Task Enroll(DateTimeOffset dueAt)
    {
        var now = timeProvider.GetUtcNow();
        state.State = new FloorFriendState(now, "dispatch", dueAt);
        await state.WriteStateAsync();
        this.RegisterGrainTimer(SendAsync, new GrainTimerCreationOptions(dueAt > now ? dueAt - now : TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        await multicaster.SendAsync(this.GetPrimaryKeyString());
        state.State = state.State with { SentAt = timeProvider.GetUtcNow() };
        await state.WriteStateAsync(cancellationToken);
    }
}
