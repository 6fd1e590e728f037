using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Channels;

/// <summary>
/// One LINE channel (Official Account), keyed by channel id. Holds the catalogue of its scenarios that friend
/// grains consult to decide what a trigger starts.
/// </summary>
public interface IChannelGrain : IGrainWithStringKey
{
    /// <summary>Registers the channel or replaces its settings (e.g. a rotated access token).</summary>
    Task Configure(ChannelSettings settings);

    /// <summary>The channel's settings, or null when it was never registered.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<ChannelSettings?> GetSettings();

    Task UpsertScenario(ScenarioSummary summary);

    [Orleans.Concurrency.ReadOnly]
    Task<ScenarioCatalogSnapshot> GetCatalog();
}

[GenerateSerializer, Immutable]
public sealed record ScenarioCatalogSnapshot
{
    [Id(0)] public long Revision { get; init; }
    [Id(1)] public ImmutableArray<ScenarioSummary> Scenarios { get; init; } = [];

    public ScenarioSummary? Find(string scenarioId)
    {
        foreach (var scenario in Scenarios)
        {
            if (scenario.ScenarioId == scenarioId)
            {
                return scenario;
            }
        }

        return null;
    }
}
