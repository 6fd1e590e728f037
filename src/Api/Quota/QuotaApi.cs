using System.Collections.Immutable;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Stepcast.Api.Management;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Stats;
using Stepcast.Grains.Scenarios;
using Stepcast.Grains.Tenants;
using ValidationProblem = Microsoft.AspNetCore.Http.HttpResults.ValidationProblem;

namespace Stepcast.Api.Quota;

/// <summary>
/// A channel's monthly budget, its cost controls and the consumption forecast:
/// <c>/api/v1/channels/{channelId}/quota</c>, <c>/frequency-caps</c> and <c>/forecast</c>.
/// </summary>
public static class QuotaApi
{
    public static IEndpointRouteBuilder MapQuotaApi(this IEndpointRouteBuilder app)
    {
        var quota = app.MapChannelResource("/quota", "Quota");
        quota.MapGet("", GetQuota).RequireScope(ApiScopes.Read).WithName("GetQuota")
            .WithSummary("This month's plan budget: used (Stepcast's and LINE's count), in flight, remaining, held sends, alerts");
        quota.MapPut("", SetQuota).RequireScope(ApiScopes.Write).WithName("SetQuota")
            .WithSummary("Sets the plan, the paid extra cap (standard), the policy when spent (pause or skip) and alert thresholds");
        quota.MapPost("/reconcile", Reconcile).RequireScope(ApiScopes.Write).WithName("ReconcileQuota")
            .WithSummary("Reads LINE's own quota and consumption now (also done every few minutes)");

        var caps = app.MapChannelResource("/frequency-caps", "Quota");
        caps.MapGet("", GetFrequencyCaps).RequireScope(ApiScopes.Read).WithName("GetFrequencyCaps")
            .WithSummary("The per-friend caps across all scenarios, e.g. 1 a day and 3 a week");
        caps.MapPut("", SetFrequencyCaps).RequireScope(ApiScopes.Write).WithName("SetFrequencyCaps")
            .WithSummary("Replaces the per-friend caps; a capped step is deferred to the next allowed time");

        var forecast = app.MapChannelResource("/forecast", "Quota");
        forecast.MapPost("", PostForecast).RequireScope(ApiScopes.Read).WithName("ForecastConsumption")
            .WithSummary("Predicts messages and cost per plan month from expected new friends and current enrollments");
        return app;
    }

    public sealed record QuotaSettingsRequest(
        string? Plan,
        long? ExtraMessageCap,
        long? CustomMonthlyLimit,
        string? WhenExhausted,
        int[]? AlertThresholds,
        string? TimeZone);

    /// <param name="Window">A duration such as <c>24h</c>, <c>1d</c>, <c>7d</c> or <c>90m</c>.</param>
    public sealed record FrequencyCapDto(int Messages, string Window);

    public sealed record FrequencyCapsRequest(FrequencyCapDto[]? FrequencyCaps);

    public sealed record ForecastBody(
        DateOnly? From,
        int? Months,
        double? NewFriendsPerDay,
        Dictionary<string, double>? EntrantsPerDay,
        Dictionary<string, Dictionary<string, double>>? PathRates,
        string? ArrivalTime,
        string[]? ScenarioIds);

    private static async Task<Ok<QuotaStatus>> GetQuota(string channelId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.GetGrain<IPlanQuotaGrain>(channelId).GetStatus());

    private static async Task<Results<Ok<QuotaStatus>, ValidationProblem>> SetQuota(
        string channelId, QuotaSettingsRequest body, IGrainFactory grains)
    {
        var quota = grains.GetGrain<IPlanQuotaGrain>(channelId);
        var given = new RawQuotaSettings
        {
            Plan = body.Plan,
            ExtraMessageCap = body.ExtraMessageCap,
            CustomMonthlyLimit = body.CustomMonthlyLimit,
            WhenExhausted = body.WhenExhausted,
            AlertThresholds = body.AlertThresholds,
            TimeZone = body.TimeZone,
        };
        if (!QuotaSettingsValidator.TryApply(given, await quota.GetSettings(), out var settings, out var problems))
        {
            return TypedResults.ValidationProblem(problems.ToDictionary(p => p.Path.TrimStart('$', '.'), p => new[] { p.Message }));
        }

        await quota.Configure(settings);
        return TypedResults.Ok(await quota.GetStatus());
    }

    private static async Task<Ok<QuotaStatus>> Reconcile(string channelId, IGrainFactory grains)
    {
        var quota = grains.GetGrain<IPlanQuotaGrain>(channelId);
        await quota.Reconcile();
        return TypedResults.Ok(await quota.GetStatus());
    }

    private static async Task<Ok<FrequencyCapsRequest>> GetFrequencyCaps(string channelId, IGrainFactory grains)
    {
        var caps = (await grains.GetGrain<IChannelGrain>(channelId).GetCatalog()).FrequencyCaps;
        return TypedResults.Ok(new FrequencyCapsRequest([.. caps.Select(c => new FrequencyCapDto(c.Messages, FormatWindow(c.Window)))]));
    }

    private static async Task<Results<Ok<FrequencyCapsRequest>, ValidationProblem>> SetFrequencyCaps(
        string channelId, FrequencyCapsRequest body, IGrainFactory grains)
    {
        var given = body.FrequencyCaps ?? [];
        var errors = new Dictionary<string, string[]>();
        var caps = ImmutableArray.CreateBuilder<FrequencyCap>(given.Length);
        for (var i = 0; i < given.Length; i++)
        {
            if (TryParseWindow(given[i].Window, out var window))
            {
                caps.Add(new FrequencyCap { Messages = given[i].Messages, Window = window });
            }
            else
            {
                errors[$"frequencyCaps[{i}].window"] = [$"'{given[i].Window}' is not a window such as 24h, 1d, 7d or 90m"];
            }
        }

        if (errors.Count == 0)
        {
            var problems = await grains.GetGrain<IChannelGrain>(channelId).SetFrequencyCaps(caps.ToImmutable());
            foreach (var problem in problems)
            {
                errors[problem.Path.TrimStart('$', '.')] = [problem.Message];
            }
        }

        return errors.Count > 0 ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(body with { FrequencyCaps = given });
    }

    private static async Task<Results<Ok<Forecast>, ValidationProblem>> PostForecast(
        string channelId, ForecastBody body, IGrainFactory grains, ScenarioCatalog catalog, TimeProvider clock,
        IOptions<PlanPricingOptions> pricing)
    {
        var errors = new Dictionary<string, string[]>();
        if (body.Months is < 1 or > 24)
        {
            errors["months"] = ["must be from 1 to 24"];
        }

        if (body.NewFriendsPerDay is < 0)
        {
            errors["newFriendsPerDay"] = ["must be zero or more"];
        }

        foreach (var (scenarioId, perDay) in body.EntrantsPerDay ?? [])
        {
            if (perDay < 0)
            {
                errors[$"entrantsPerDay.{scenarioId}"] = ["must be zero or more"];
            }
        }

        foreach (var (stepId, rates) in body.PathRates ?? [])
        {
            foreach (var (target, rate) in rates)
            {
                if (rate is < 0 or > 1)
                {
                    errors[$"pathRates.{stepId}.{target}"] = ["a rate is a fraction from 0 to 1"];
                }
            }
        }

        var arrival = new TimeOnly(12, 0);
        if (body.ArrivalTime is not null && !TimeOnly.TryParseExact(body.ArrivalTime, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out arrival))
        {
            errors["arrivalTime"] = ["must be a local time as HH:mm"];
        }

        var published = (await catalog.GetCatalogAsync(channelId)).Scenarios.Where(s => s.Status == ScenarioStatus.Published).ToList();
        var wanted = body.ScenarioIds is { Length: > 0 } ids ? ids : [.. published.Select(s => s.ScenarioId)];
        for (var i = 0; i < wanted.Length; i++)
        {
            if (!published.Any(s => s.ScenarioId == wanted[i]))
            {
                errors[$"scenarioIds[{i}]"] = [$"'{wanted[i]}' is not a published scenario of this channel"];
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var definitions = new List<ScenarioDefinition>();
        foreach (var summary in published.Where(s => wanted.Contains(s.ScenarioId)))
        {
            if (await catalog.GetVersionAsync(channelId, summary.ScenarioId, summary.CurrentVersion) is { } definition)
            {
                definitions.Add(definition);
            }
        }

        var settings = await grains.GetGrain<IPlanQuotaGrain>(channelId).GetSettings();
        var request = new ForecastRequest
        {
            From = body.From,
            Months = body.Months ?? 1,
            NewFriendsPerDay = body.NewFriendsPerDay ?? 0,
            EntrantsPerDay = (body.EntrantsPerDay ?? []).ToImmutableDictionary(StringComparer.Ordinal),
            PathRates = (body.PathRates ?? []).ToImmutableDictionary(p => p.Key, p => p.Value.ToImmutableDictionary(StringComparer.Ordinal), StringComparer.Ordinal),
            ArrivalTime = arrival,
        };
        var current = await CurrentRunsAsync(grains, channelId, definitions);
        return TypedResults.Ok(QuotaForecaster.Run(definitions, request, current, settings.TimeZone, clock.GetUtcNow(), pricing.Value));
    }

    /// <summary>Friends part-way through the scenarios, from each scenario's active-runs gauge (see <see cref="IScenarioStatsGrain.GetActiveRuns"/>).</summary>
    private static async Task<IReadOnlyList<RunsAtStep>> CurrentRunsAsync(IGrainFactory grains, string channelId, IReadOnlyList<ScenarioDefinition> scenarios)
    {
        var gauges = await Task.WhenAll(scenarios.Select(async scenario =>
            (ScenarioId: scenario.Id, Steps: await grains.GetGrain<IScenarioStatsGrain>(ScenarioStatsKey.Format(channelId, scenario.Id)).GetActiveRuns())));
        return [.. gauges.SelectMany(gauge => gauge.Steps.SelectMany(step => step.Days
            .Where(day => day.Runs > 0)
            .Select(day => new RunsAtStep
            {
                ScenarioId = gauge.ScenarioId,
                StepId = step.StepId,
                // The gauge knows the UTC day only: its middle is at most half a day off.
                DueAt = new DateTimeOffset(day.Day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero),
                Count = day.Runs,
            })))];
    }

    private static bool TryParseWindow(string? text, out TimeSpan window)
    {
        window = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text) || text.Length < 2
            || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            return false;
        }

        window = char.ToLowerInvariant(text[^1]) switch
        {
            'd' => TimeSpan.FromDays(amount),
            'h' => TimeSpan.FromHours(amount),
            'm' => TimeSpan.FromMinutes(amount),
            _ => TimeSpan.Zero,
        };
        return window > TimeSpan.Zero;
    }

    private static string FormatWindow(TimeSpan window) =>
        window.TotalDays == Math.Floor(window.TotalDays) ? $"{window.TotalDays:0}d"
        : window.TotalHours == Math.Floor(window.TotalHours) ? $"{window.TotalHours:0}h"
        : $"{window.TotalMinutes:0}m";
}
