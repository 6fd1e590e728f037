using System.Collections.Immutable;

namespace Stepcast.Grains.Scenarios;

/// <summary>
/// Every scenario id created through the API for one channel (keyed by channel id), drafts included: the channel's
/// catalogue only learns of a scenario when it is first published.
/// </summary>
public interface IScenarioIndexGrain : IGrainWithStringKey
{
    Task Add(string scenarioId);

    /// <summary>Scenario ids in ordinal order.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<ImmutableArray<string>> List();
}

[GenerateSerializer]
public sealed class ScenarioIndexState
{
    /// <summary>Kept in ordinal order.</summary>
    [Id(0)] public List<string> ScenarioIds { get; set; } = [];
}

public sealed class ScenarioIndexGrain([PersistentState("scenarioIndex")] IPersistentState<ScenarioIndexState> state)
    : Grain, IScenarioIndexGrain
{
    async Task IScenarioIndexGrain.Add(string scenarioId)
    {
        var index = state.State.ScenarioIds.BinarySearch(scenarioId, StringComparer.Ordinal);
        if (index < 0)
        {
            state.State.ScenarioIds.Insert(~index, scenarioId);
            await state.WriteStateAsync();
        }
    }

    Task<ImmutableArray<string>> IScenarioIndexGrain.List() => Task.FromResult(state.State.ScenarioIds.ToImmutableArray());
}
