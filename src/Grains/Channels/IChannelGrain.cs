using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Channels;

/// <summary>
/// One LINE channel (Official Account), keyed by channel id. Holds the catalogue of its scenarios and its
/// auto-reply rules that friend grains consult to decide what a trigger starts and what a text message answers.
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

    /// <summary>
    /// Replaces the channel's auto-reply rules (an empty list removes them). Returns the problems found, each with
    /// the path of the offending field; when there are any, nothing is changed.
    /// </summary>
    Task<IReadOnlyList<ValidationProblem>> SetAutoReplies(ImmutableArray<AutoReplyRule> rules);

    [Orleans.Concurrency.ReadOnly]
    Task<ImmutableArray<AutoReplyRule>> GetAutoReplies();

    /// <summary>
    /// Replaces the per-friend frequency caps that apply across all the channel's scenarios (an empty list removes
    /// them). Returns the problems found, each naming its field; when there are any, nothing is changed.
    /// </summary>
    Task<IReadOnlyList<ValidationProblem>> SetFrequencyCaps(ImmutableArray<FrequencyCap> caps);
}

[GenerateSerializer, Immutable]
public sealed record ScenarioCatalogSnapshot
{
    [Id(0)] public long Revision { get; init; }
    [Id(1)] public ImmutableArray<ScenarioSummary> Scenarios { get; init; } = [];
    /// <summary>The channel's auto-reply rules, in the order they are tried; cached with the scenarios so a text message costs no extra grain call.</summary>
    [Id(2)] public ImmutableArray<AutoReplyRule> AutoReplies { get; init; } = [];
    /// <summary>The channel's per-friend frequency caps, cached with the catalogue for the same reason.</summary>
    [Id(3)] public ImmutableArray<FrequencyCap> FrequencyCaps { get; init; } = [];

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
