using System.Collections.Concurrent;
using Stepcast.Silo.Postgres;

namespace Stepcast.Tests.Postgres;

public interface IProbeGrain : IGrainWithStringKey
{
    Task<ProbeReading> Read();

    Task Write(string value);

    Task Deactivate();

    Task ArmReminder(string name, TimeSpan dueTime, TimeSpan period);

    Task DisarmReminder(string name);
}

/// <summary>Calls that interleave, each writing the state: writes overlap while the store is working.</summary>
public interface IReentrantProbeGrain : IGrainWithStringKey
{
    Task Increment();
}

public interface IFriendsProbeGrain : IGrainWithStringKey
{
    Task<ProbeReading> Read();

    Task Write(string value);

    Task Deactivate();
}

[GenerateSerializer, Immutable]
public sealed record ProbeReading([property: Id(0)] string? Value, [property: Id(1)] string Silo, [property: Id(2)] Guid Activation);

[GenerateSerializer]
public sealed class ProbeState
{
    [Id(0)]
    public string? Value { get; set; }

    [Id(1)]
    public int Count { get; set; }
}

/// <summary>State with a safety net, as a friend's, which the friends' store keeps beside the payload.</summary>
[GenerateSerializer]
public sealed class SafetyNetProbeState : Stepcast.Grains.Friends.ISafetyNetState
{
    [Id(0)]
    public string? Value { get; set; }

    public DateTimeOffset? SafetyNetAt
    {
        get => _safetyNetAt;
        set => _safetyNetAt = value;
    }

    [NonSerialized] private DateTimeOffset? _safetyNetAt;
}

/// <summary>Default storage, plus a reminder that reports its first tick.</summary>
public sealed class ProbeGrain([PersistentState("state")] IPersistentState<ProbeState> state) : Grain, IProbeGrain, IRemindable
{
    /// <summary>Completed by the first tick of each (grain key, reminder name).</summary>
    public static ConcurrentDictionary<(string Key, string Reminder), TaskCompletionSource> Ticks { get; } = new();

    private readonly Guid _activation = Guid.NewGuid();

    Task<ProbeReading> IProbeGrain.Read() => Task.FromResult(new ProbeReading(state.State.Value, RuntimeIdentity, _activation));

    async Task IProbeGrain.Write(string value)
    {
        state.State.Value = value;
        await state.WriteStateAsync();
    }

    Task IProbeGrain.Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    Task IProbeGrain.ArmReminder(string name, TimeSpan dueTime, TimeSpan period) =>
        this.RegisterOrUpdateReminder(name, dueTime, period);

    async Task IProbeGrain.DisarmReminder(string name)
    {
        if (await this.GetReminder(name) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.GetOrAdd((this.GetPrimaryKeyString(), reminderName), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
            .TrySetResult();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Same state name ("state") and same keys as <see cref="ProbeGrain"/>, in the named friends
/// storage, which shares the OrleansStorage table: the rows must still not collide.
/// </summary>
public sealed class FriendsProbeGrain(
    [PersistentState("state", PostgresOrleansExtensions.FriendsStorageName)] IPersistentState<ProbeState> state)
    : Grain, IFriendsProbeGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    Task<ProbeReading> IFriendsProbeGrain.Read() => Task.FromResult(new ProbeReading(state.State.Value, RuntimeIdentity, _activation));

    async Task IFriendsProbeGrain.Write(string value)
    {
        state.State.Value = value;
        await state.WriteStateAsync();
    }

    Task IFriendsProbeGrain.Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

[Orleans.Concurrency.Reentrant]
public sealed class ReentrantProbeGrain([PersistentState("state")] IPersistentState<ProbeState> state) : Grain, IReentrantProbeGrain
{
    async Task IReentrantProbeGrain.Increment()
    {
        state.State.Count++;
        await state.WriteStateAsync();
    }
}
