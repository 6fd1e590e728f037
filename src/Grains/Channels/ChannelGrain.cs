using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Channels;

[GenerateSerializer]
public sealed class ChannelState
{
    [Id(0)] public Dictionary<string, ScenarioSummary> Scenarios { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public long Revision { get; set; }
    [Id(2)] public ChannelSettings? Settings { get; set; }
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

    Task<ScenarioCatalogSnapshot> IChannelGrain.GetCatalog()
    {
        _snapshot ??= new ScenarioCatalogSnapshot
        {
            Revision = state.State.Revision,
            Scenarios = [.. state.State.Scenarios.Values.OrderBy(s => s.ScenarioId, StringComparer.Ordinal)],
        };
        return Task.FromResult(_snapshot);
    }
}
