using Microsoft.AspNetCore.Http.HttpResults;
using Stepcast.Grains.Scenarios;
using Stepcast.Grains.Stats;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

/// <summary>
/// Per-scenario and per-step counters: entered, sent, failed, skipped by reason, clicked, converted, and blocked within
/// 24 hours after a step (which step makes friends leave). Eventually consistent: silos flush their counts every
/// <c>Stepcast:Stats:FlushInterval</c> (1 s).
/// </summary>
public static class StatsApi
{
    public static IEndpointRouteBuilder MapStatsApi(this IEndpointRouteBuilder app)
    {
        // Only the channel's tenant reaches it (ChannelScope), with the read scope.
        var stats = app.MapChannelResource("/scenarios/{scenarioId}/stats", "Stats").RequireScope(ApiScopes.Read);
        stats.MapGet("/", Get).WithName("GetScenarioStats").WithSummary("Counters of a scenario and of each of its steps");
        stats.MapGet("/active-runs", GetActiveRuns).WithName("GetScenarioActiveRuns")
            .WithSummary("Runs in progress by the step they carry out next and the UTC day it is due");
        return app;
    }

    public sealed record SkippedCounts(long Quota, long FrequencyCap, long Blocked, long Other);

    public sealed record StepStatsResource(
        string StepId, long Entered, long Sent, long Failed, long Skipped, SkippedCounts SkippedBy, long Clicked, long Converted, long BlockedWithin24h);

    /// <param name="Entered">Runs started.</param>
    /// <param name="Steps">In the order of the scenario's current version; steps only older versions had come last.</param>
    public sealed record ScenarioStatsResource(
        string ChannelId, string ScenarioId, long Entered, long Sent, long Failed, long Skipped, long Clicked, long Converted, long BlockedWithin24h,
        IReadOnlyList<StepStatsResource> Steps, DateTimeOffset? UpdatedAt);

    public sealed record ActiveRunsResource(string ChannelId, string ScenarioId, IReadOnlyList<ActiveRunsAtStep> Steps);

    private static async Task<Results<Ok<ScenarioStatsResource>, ProblemHttpResult>> Get(string channelId, string scenarioId, IGrainFactory grains)
    {
        if (await grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(channelId, scenarioId)).Get() is not { } scenario)
        {
            return ApiProblems.NotFound("scenarioId", $"The channel has no scenario '{scenarioId}'.");
        }

        var stats = await grains.GetGrain<IScenarioStatsGrain>(ScenarioStatsKey.Format(channelId, scenarioId)).GetStats();
        var order = (scenario.CurrentVersion > 0
                ? await grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(channelId, scenarioId)).GetVersion(scenario.CurrentVersion)
                : scenario.Draft)?.Steps.Select(step => step.Id).ToList() ?? [];
        var steps = order.Concat(stats.Steps.Keys.Except(order, StringComparer.Ordinal).Order(StringComparer.Ordinal))
            .Select(stepId => ToResource(stepId, stats.Steps.GetValueOrDefault(stepId, StepStats.Zero)))
            .ToList();
        return TypedResults.Ok(new ScenarioStatsResource(
            channelId, scenarioId, stats.Entered,
            steps.Sum(s => s.Sent), steps.Sum(s => s.Failed), steps.Sum(s => s.Skipped), steps.Sum(s => s.Clicked), steps.Sum(s => s.Converted),
            steps.Sum(s => s.BlockedWithin24h), steps, stats.UpdatedAt));
    }

    private static async Task<Results<Ok<ActiveRunsResource>, ProblemHttpResult>> GetActiveRuns(string channelId, string scenarioId, IGrainFactory grains)
    {
        if (await grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(channelId, scenarioId)).Get() is null)
        {
            return ApiProblems.NotFound("scenarioId", $"The channel has no scenario '{scenarioId}'.");
        }

        var active = await grains.GetGrain<IScenarioStatsGrain>(ScenarioStatsKey.Format(channelId, scenarioId)).GetActiveRuns();
        return TypedResults.Ok(new ActiveRunsResource(channelId, scenarioId, active));
    }

    private static StepStatsResource ToResource(string stepId, StepStats step)
    {
        var skipped = new SkippedCounts(step.SkippedQuota, step.SkippedFrequencyCap, step.SkippedBlocked, step.SkippedOther);
        return new StepStatsResource(
            stepId, step.Entered, step.Sent, step.Failed, skipped.Quota + skipped.FrequencyCap + skipped.Blocked + skipped.Other, skipped,
            step.Clicked, step.Converted, step.BlockedWithin24h);
    }
}
