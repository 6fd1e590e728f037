using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Channels;

[GenerateSerializer]
public sealed class ChannelState
{
    [Id(0)] public Dictionary<string, ScenarioSummary> Scenarios { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public long Revision { get; set; }
    [Id(2)] public ChannelSettings? Settings { get; set; }
    [Id(3)] public ImmutableArray<AutoReplyRule> AutoReplies { get; set; } = [];
    [Id(4)] public ImmutableArray<FrequencyCap> FrequencyCaps { get; set; } = [];
}

public sealed class ChannelGrain([PersistentState("channel")] IPersistentState<ChannelState> state)
    : Grain, IChannelGrain
{
    private ScenarioCatalogSnapshot? _snapshot;

    async Task IChannelGrain.UpsertScenario(ScenarioSummary summary)
    {
        state.State.Scenarios[summary.ScenarioId] = summary;
        state.State.Revision++;
        await state.WriteStateAsync();
        _snapshot = null;
    }

    async Task IChannelGrain.Configure(ChannelSettings settings)
    {
        if (settings.ChannelId != this.GetPrimaryKeyString())
        {
            throw new ArgumentException($"Settings for channel {settings.ChannelId} sent to channel {this.GetPrimaryKeyString()}.", nameof(settings));
        }

        state.State.Settings = settings;
        await state.WriteStateAsync();
    }

    Task<ChannelSettings?> IChannelGrain.GetSettings() => Task.FromResult(state.State.Settings);

    async Task<IReadOnlyList<ValidationProblem>> IChannelGrain.SetAutoReplies(ImmutableArray<AutoReplyRule> rules)
    {
        rules = rules.IsDefault ? [] : rules;
        var problems = AutoReplyValidator.Validate(rules);
        if (problems.Count > 0)
        {
            return problems;
        }

        state.State.AutoReplies = rules;
        state.State.Revision++;
        await state.WriteStateAsync();
        _snapshot = null;
        return problems;
    }

    Task<ImmutableArray<AutoReplyRule>> IChannelGrain.GetAutoReplies() => Task.FromResult(AutoReplies);

    async Task<IReadOnlyList<ValidationProblem>> IChannelGrain.SetFrequencyCaps(ImmutableArray<FrequencyCap> caps)
    {
        caps = caps.IsDefault ? [] : caps;
        var problems = new List<ValidationProblem>();
        for (var i = 0; i < caps.Length; i++)
        {
            if (caps[i].Messages is <= 0 or > FrequencyCap.MaxMessages)
            {
                problems.Add(new ValidationProblem($"$.frequencyCaps[{i}].messages", $"must be between 1 and {FrequencyCap.MaxMessages}"));
            }

            if (caps[i].Window <= TimeSpan.Zero)
            {
                problems.Add(new ValidationProblem($"$.frequencyCaps[{i}].window", "must be longer than zero"));
            }
        }

        if (problems.Count > 0)
        {
            return problems;
        }

        state.State.FrequencyCaps = caps;
        state.State.Revision++;
        await state.WriteStateAsync();
        _snapshot = null;
        return problems;
    }

    Task<ScenarioCatalogSnapshot> IChannelGrain.GetCatalog()
    {
        _snapshot ??= new ScenarioCatalogSnapshot
        {
            Revision = state.State.Revision,
            Scenarios = [.. state.State.Scenarios.Values.OrderBy(s => s.ScenarioId, StringComparer.Ordinal)],
            AutoReplies = AutoReplies,
            FrequencyCaps = state.State.FrequencyCaps.IsDefault ? [] : state.State.FrequencyCaps,
        };
        return Task.FromResult(_snapshot);
    }

    // State written before auto-replies existed may come back from storage without the list.
    private ImmutableArray<AutoReplyRule> AutoReplies => state.State.AutoReplies.IsDefault ? [] : state.State.AutoReplies;
}
