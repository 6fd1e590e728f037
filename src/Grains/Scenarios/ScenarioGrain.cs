using System.Collections.Immutable;
using Stepcast.Grains.Channels;

namespace Stepcast.Grains.Scenarios;

[GenerateSerializer]
public sealed class ScenarioState
{
    [Id(0)] public ScenarioStatus Status { get; set; } = ScenarioStatus.Draft;
    [Id(1)] public ScenarioDefinition? Draft { get; set; }
    /// <summary>Published versions in order: version n is at index n-1.</summary>
    [Id(2)] public List<ScenarioDefinition> Versions { get; set; } = [];
    [Id(3)] public List<DateTimeOffset> PublishedAt { get; set; } = [];
}

public sealed class ScenarioGrain(
    [PersistentState("scenario")] IPersistentState<ScenarioState> state,
    TimeProvider timeProvider) : Grain, IScenarioGrain
{
    private string ChannelId => this.GetPrimaryKeyString().Split('/', 2)[0];
    private string ScenarioId => this.GetPrimaryKeyString().Split('/', 2)[1];

    Task<ScenarioView?> IScenarioGrain.Get() =>
        Task.FromResult(state.RecordExists ? View() : null);

    async Task<ImmutableArray<ValidationProblem>> IScenarioGrain.SaveDraft(ScenarioDefinition draft)
    {
        var problems = ProblemsWithKey(draft).AddRange(ScenarioValidator.Validate(draft));
        if (state.State.Status == ScenarioStatus.Archived)
        {
            problems = problems.Add(new ValidationProblem("$", "The scenario is archived; create a new scenario instead."));
        }

        if (problems.IsEmpty)
        {
            state.State.Draft = draft;
            await state.WriteStateAsync();
        }

        return problems;
    }

    async Task<PublishResult> IScenarioGrain.Publish()
    {
        if (state.State.Draft is not { } draft)
        {
            return new PublishResult { Problems = [new ValidationProblem("$", "There is no draft to publish.")] };
        }

        var problems = ScenarioValidator.Validate(draft).ToImmutableArray();
        if (!problems.IsEmpty)
        {
            return new PublishResult { Problems = problems };
        }

        state.State.Versions.Add(draft);
        state.State.PublishedAt.Add(timeProvider.GetUtcNow());
        state.State.Status = ScenarioStatus.Published;
        await state.WriteStateAsync();
        await AnnounceAsync();
        return new PublishResult { Scenario = View() };
    }

    Task<ScenarioView> IScenarioGrain.Pause() => MoveToAsync(ScenarioStatus.Paused, ScenarioStatus.Published);

    Task<ScenarioView> IScenarioGrain.Resume() => MoveToAsync(ScenarioStatus.Published, ScenarioStatus.Paused);

    Task<ScenarioView> IScenarioGrain.Archive() =>
        MoveToAsync(ScenarioStatus.Archived, ScenarioStatus.Draft, ScenarioStatus.Published, ScenarioStatus.Paused);

    Task<ScenarioDefinition?> IScenarioGrain.GetVersion(int version) =>
        Task.FromResult(version >= 1 && version <= state.State.Versions.Count ? state.State.Versions[version - 1] : null);

    private async Task<ScenarioView> MoveToAsync(ScenarioStatus target, params ScenarioStatus[] allowedFrom)
    {
        if (state.State.Status == target)
        {
            return View();
        }

        if (!allowedFrom.Contains(state.State.Status))
        {
            throw new InvalidScenarioTransitionException(state.State.Status, target);
        }

        state.State.Status = target;
        await state.WriteStateAsync();
        await AnnounceAsync();
        return View();
    }

    /// <summary>Tells the channel catalogue, so friend grains see the change.</summary>
    private Task AnnounceAsync()
    {
        if (state.State.Versions.Count == 0)
        {
            return Task.CompletedTask;
        }

        var current = state.State.Versions[^1];
        return GrainFactory.GetGrain<IChannelGrain>(ChannelId)
            .UpsertScenario(ScenarioSummary.Of(current, state.State.Status, state.State.Versions.Count));
    }

    private ImmutableArray<ValidationProblem> ProblemsWithKey(ScenarioDefinition draft)
    {
        var problems = ImmutableArray<ValidationProblem>.Empty;
        if (draft.ChannelId != ChannelId)
        {
            problems = problems.Add(new ValidationProblem("$.channelId", $"Must be '{ChannelId}', the channel this scenario belongs to."));
        }

        if (draft.Id != ScenarioId)
        {
            problems = problems.Add(new ValidationProblem("$.id", $"Must be '{ScenarioId}', the id this scenario is saved under."));
        }

        return problems;
    }

    private ScenarioView View() => new()
    {
        ChannelId = ChannelId,
        ScenarioId = ScenarioId,
        Status = state.State.Status,
        Draft = state.State.Draft,
        CurrentVersion = state.State.Versions.Count,
        Versions = [.. state.State.PublishedAt.Select((at, i) => new ScenarioVersionInfo(i + 1, at))],
    };
}

/// <summary>A status change the scenario's life cycle does not allow, e.g. resuming an archived scenario.</summary>
[GenerateSerializer]
public sealed class InvalidScenarioTransitionException(ScenarioStatus from, ScenarioStatus to)
    : Exception($"A {from.ToString().ToLowerInvariant()} scenario cannot become {to.ToString().ToLowerInvariant()}.")
{
    [Id(0)] public ScenarioStatus From { get; } = from;
    [Id(1)] public ScenarioStatus To { get; } = to;
}
