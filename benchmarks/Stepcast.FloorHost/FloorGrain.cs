namespace Stepcast.FloorHost;

/// <summary>A friend reduced to what the framework charges for it: an activation and, if asked, one state write.</summary>
public interface IFloorFriendGrain : IGrainWithStringKey
{
    Task Follow(bool write);
}

/// <summary>[Id] numbers are persisted, in memory only here.</summary>
[GenerateSerializer]
public sealed record FloorFriendState([property: Id(0)] DateTimeOffset FollowedAt, [property: Id(1)] string ScenarioId);

// The friend grain's own deactivation age, so both hold as many activations through a run.
[CollectionAgeLimit(Minutes = 2)]
public sealed class FloorFriendGrain(
    [PersistentState("friend")] IPersistentState<FloorFriendState> state,
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
}
