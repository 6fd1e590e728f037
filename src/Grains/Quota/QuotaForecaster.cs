using System.Collections.Immutable;
using System.Globalization;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Quota;

/// <summary>
/// Predicts the pushed messages of a channel's scenarios per plan month, and what each plan would cost: new friends
/// enter on their triggers day by day, friends already enrolled continue from their step, and every path is walked
/// with the probability it is taken (split percentages; branch and event rates as given or shared equally). Due
/// times come from the same <see cref="WaitScheduler"/> the engine uses, so "day 3 at 10:00" and quiet hours land
/// in the right month. Plain C#: the figures are checked against hand-computed cases.
/// </summary>
public static class QuotaForecaster
{
    /// <summary>Paths fan out at branches; beyond this many steps walked per entry the rest is ignored.</summary>
    private const int MaxStepsPerWalk = 10_000;
    private const double NegligibleWeight = 1e-9;
    private const string EndTarget = "exit";

    public static Forecast Run(
        IReadOnlyList<ScenarioDefinition> scenarios,
        ForecastRequest request,
        IReadOnlyList<RunsAtStep> currentRuns,
        string timeZone,
        DateTimeOffset now,
        PlanPricingOptions pricing)
    {
        var zone = TimeZones.Get(timeZone);
        var firstDay = request.From ?? FirstOfNextMonth(now, zone);
        var months = Enumerable.Range(0, request.Months)
            .Select(i => PlanMonth.Containing(LocalToUtc(firstDay.AddMonths(i), TimeOnly.MinValue, zone), timeZone))
            .ToArray();
        var windowStart = LocalToUtc(firstDay, TimeOnly.MinValue, zone);
        var windowEnd = months[^1].EndsAt;
        var tally = months.Select(_ => new MonthTally()).ToArray();

        void Emit(string scenarioId, DateTimeOffset at, double weight, bool fromCurrent)
        {
            if (at < windowStart || at >= windowEnd)
            {
                return;
            }

            var index = Array.FindIndex(months, m => at < m.EndsAt);
            var month = tally[index];
            if (fromCurrent)
            {
                month.FromCurrent += weight;
            }
            else
            {
                month.FromNew += weight;
            }

            month.ByScenario[scenarioId] = month.ByScenario.GetValueOrDefault(scenarioId) + weight;
        }

        foreach (var scenario in scenarios)
        {
            var perDay = (scenario.Triggers.Any(t => t is FollowTrigger) ? request.NewFriendsPerDay : 0)
                + request.EntrantsPerDay.GetValueOrDefault(scenario.Id);
            if (perDay <= 0 || scenario.Steps.IsEmpty)
            {
                continue;
            }

            for (var day = firstDay; LocalToUtc(day, TimeOnly.MinValue, zone) < windowEnd; day = day.AddDays(1))
            {
                var entry = LocalToUtc(day, request.ArrivalTime, zone);
                if (scenario.Validity is { } validity && !validity.Contains(entry))
                {
                    continue;
                }

                Walk(scenario, scenario.Steps[0].Id, entry, perDay, request, windowEnd, (at, weight) => Emit(scenario.Id, at, weight, fromCurrent: false));
            }
        }

        var byId = scenarios.ToDictionary(s => s.Id, StringComparer.Ordinal);
        foreach (var runs in currentRuns)
        {
            if (byId.TryGetValue(runs.ScenarioId, out var scenario))
            {
                var from = runs.DueAt < now ? now : runs.DueAt;
                Walk(scenario, runs.StepId, from, runs.Count, request, windowEnd, (at, weight) => Emit(scenario.Id, at, weight, fromCurrent: true));
            }
        }

        return new Forecast
        {
            TimeZone = timeZone,
            Months = [.. months.Select((month, i) => Summarise(month, tally[i], pricing))],
            Assumptions =
            [
                $"New friends arrive at {request.ArrivalTime.ToString("HH:mm", CultureInfo.InvariantCulture)} local time and enter every published friend-add scenario.",
                "Branch paths without a given rate share the remaining probability equally; a wait-for-event's event path defaults to one half, arriving halfway through its timeout.",
                "Friends already enrolled continue on the scenario's current version; frequency caps, blocks and scenarios started by tag steps are not modelled.",
                "One message per push per friend, as LINE counts them; replies are free and not counted.",
            ],
        };
    }

    /// <summary>Walks every path from one step, emitting each send with the probability it is reached.</summary>
    private static void Walk(
        ScenarioDefinition scenario, string firstStepId, DateTimeOffset at, double weight, ForecastRequest request,
        DateTimeOffset horizon, Action<DateTimeOffset, double> emit)
    {
        var zone = TimeZones.Get(scenario.TimeZone);
        var pending = new Stack<(string? StepId, DateTimeOffset At, double Weight)>();
        pending.Push((firstStepId, at, weight));
        var walked = 0;
        while (pending.TryPop(out var position) && walked++ < MaxStepsPerWalk)
        {
            var (stepId, time, share) = position;
            if (stepId is null || share < NegligibleWeight || time >= horizon
                || ScenarioInterpreter.StepOf(scenario, stepId) is not { } step)
            {
                continue;
            }

            switch (step)
            {
                case SendStep:
                    emit(time, share);
                    pending.Push((ScenarioInterpreter.NextAfter(scenario, step), time, share));
                    break;
                case WaitStep wait:
                    pending.Push((ScenarioInterpreter.NextAfter(scenario, step), WaitScheduler.ComputeDue(wait, time, zone), share));
                    break;
                case WaitForEventStep waitForEvent:
                    var timeout = WaitScheduler.TimeoutAt(waitForEvent.Timeout, time, zone);
                    var onEvent = waitForEvent.OnEvent ?? ScenarioInterpreter.NextAfter(scenario, step);
                    var onTimeout = waitForEvent.OnTimeout ?? ScenarioInterpreter.NextAfter(scenario, step);
                    var eventRate = Math.Clamp(RateOf(request, step.Id, onEvent) ?? 0.5, 0, 1);
                    pending.Push((onEvent, time + (timeout - time) / 2, share * eventRate));
                    pending.Push((onTimeout, timeout, share * (1 - eventRate)));
                    break;
                case BranchStep branch:
                    foreach (var (target, rate) in BranchRates(scenario, branch, request))
                    {
                        pending.Push((target, time, share * rate));
                    }

                    break;
                case SplitStep split:
                    foreach (var variant in split.Variants)
                    {
                        pending.Push((variant.Goto, time, share * variant.Percent / 100.0));
                    }

                    break;
                case TagStep:
                    pending.Push((ScenarioInterpreter.NextAfter(scenario, step), time, share));
                    break;
            }
        }
    }

    private static IEnumerable<(string? Target, double Rate)> BranchRates(ScenarioDefinition scenario, BranchStep branch, ForecastRequest request)
    {
        var targets = branch.Cases.Select(c => (string?)c.Goto)
            .Append(branch.Otherwise ?? ScenarioInterpreter.NextAfter(scenario, branch))
            .Distinct()
            .ToList();
        var given = targets.ToDictionary(t => t ?? EndTarget, t => RateOf(request, branch.Id, t));
        var assigned = given.Values.Where(r => r is not null).Sum(r => Math.Clamp(r!.Value, 0, 1));
        var unassigned = given.Values.Count(r => r is null);
        var rest = unassigned == 0 ? 0 : Math.Max(0, 1 - assigned) / unassigned;
        return targets.Select(t => (t, given[t ?? EndTarget] is { } rate ? Math.Clamp(rate, 0, 1) : rest));
    }

    private static double? RateOf(ForecastRequest request, string stepId, string? target) =>
        request.PathRates.TryGetValue(stepId, out var rates) && rates.TryGetValue(target ?? EndTarget, out var rate) ? rate : null;

    private static MonthForecast Summarise(PlanMonth month, MonthTally tally, PlanPricingOptions pricing)
    {
        var messages = Round(tally.FromNew + tally.FromCurrent);
        var plans = pricing.Plans.OrderBy(p => p.Key).Select(p => Cost(p.Key, p.Value, messages, pricing.Currency)).ToImmutableArray();
        var sufficient = plans.Where(p => p.UnsentMessages == 0).OrderBy(p => p.Cost).ThenBy(p => p.Plan).FirstOrDefault();
        return new MonthForecast
        {
            Month = month.Key,
            Messages = messages,
            FromNewFriends = Round(tally.FromNew),
            FromCurrentEnrollments = Round(tally.FromCurrent),
            ByScenario = tally.ByScenario.ToImmutableDictionary(p => p.Key, p => Round(p.Value), StringComparer.Ordinal),
            Plans = plans,
            CheapestSufficientPlan = sufficient?.Plan,
        };
    }

    private static PlanCost Cost(LinePlan plan, PlanPrice price, long messages, string currency)
    {
        var beyond = Math.Max(0, messages - price.IncludedMessages);
        var extra = price.PricePerExtraMessage is null ? 0 : beyond;
        return new PlanCost
        {
            Plan = plan,
            IncludedMessages = price.IncludedMessages,
            ExtraMessages = extra,
            UnsentMessages = beyond - extra,
            Cost = price.MonthlyFee + extra * (price.PricePerExtraMessage ?? 0),
            Currency = currency,
        };
    }

    private static long Round(double value) => (long)Math.Round(value, MidpointRounding.AwayFromZero);

    private static DateOnly FirstOfNextMonth(DateTimeOffset now, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        return new DateOnly(local.Year, local.Month, 1).AddMonths(1);
    }

    private static DateTimeOffset LocalToUtc(DateOnly day, TimeOnly time, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(time, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(30);
        }

        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    private sealed class MonthTally
    {
        public double FromNew { get; set; }
        public double FromCurrent { get; set; }
        public Dictionary<string, double> ByScenario { get; } = new(StringComparer.Ordinal);
    }
}
