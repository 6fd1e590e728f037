using System.Collections.Immutable;

namespace Stepcast.Grains.Quota;

/// <summary>What to forecast: the months ahead, how many friends arrive, and how paths are taken.</summary>
public sealed record ForecastRequest
{
    /// <summary>The first day forecast (local date in the channel's time zone); default: the 1st of next month.</summary>
    public DateOnly? From { get; init; }

    /// <summary>How many plan months to forecast (1–24).</summary>
    public int Months { get; init; } = 1;

    /// <summary>New friends a day: each enters every published friend-add scenario.</summary>
    public double NewFriendsPerDay { get; init; }

    /// <summary>Entries a day for scenarios started otherwise (events, keywords, tags, API), by scenario id.</summary>
    public ImmutableDictionary<string, double> EntrantsPerDay { get; init; } = ImmutableDictionary<string, double>.Empty;

    /// <summary>
    /// How often each path is taken, by branch or wait-for-event step id, then target step id (or "exit" for the
    /// end), as a fraction 0–1. Paths not given share what is left equally; a wait-for-event's event path defaults
    /// to half.
    /// </summary>
    public ImmutableDictionary<string, ImmutableDictionary<string, double>> PathRates { get; init; } =
        ImmutableDictionary<string, ImmutableDictionary<string, double>>.Empty;

    /// <summary>The local time of day new friends are assumed to arrive (matters for "day n at HH:mm" waits).</summary>
    public TimeOnly ArrivalTime { get; init; } = new(12, 0);
}

/// <summary>Friends already part-way through a scenario: <see cref="Count"/> of them at a step due at a time.</summary>
[GenerateSerializer, Immutable]
public sealed record RunsAtStep
{
    [Id(0)] public required string ScenarioId { get; init; }
    [Id(1)] public required string StepId { get; init; }
    [Id(2)] public required DateTimeOffset DueAt { get; init; }
    [Id(3)] public required long Count { get; init; }
}

public sealed record Forecast
{
    public required string TimeZone { get; init; }
    public required ImmutableArray<MonthForecast> Months { get; init; }
    public required ImmutableArray<string> Assumptions { get; init; }
}

public sealed record MonthForecast
{
    /// <summary>"yyyy-MM" in the channel's time zone.</summary>
    public required string Month { get; init; }
    public required long Messages { get; init; }
    public required long FromNewFriends { get; init; }
    public required long FromCurrentEnrollments { get; init; }
    public required ImmutableDictionary<string, long> ByScenario { get; init; }
    public required ImmutableArray<PlanCost> Plans { get; init; }
    /// <summary>The cheapest plan under which every forecast message goes out; null when none does.</summary>
    public LinePlan? CheapestSufficientPlan { get; init; }
}

public sealed record PlanCost
{
    public required LinePlan Plan { get; init; }
    public required long IncludedMessages { get; init; }
    public required long ExtraMessages { get; init; }
    /// <summary>Messages beyond what the plan can send at all: held or skipped by the channel's policy.</summary>
    public required long UnsentMessages { get; init; }
    public required decimal Cost { get; init; }
    public required string Currency { get; init; }
}

/// <summary>The monthly fee, included messages and price per extra message of one plan.</summary>
public sealed record PlanPrice
{
    public required decimal MonthlyFee { get; init; }
    public required long IncludedMessages { get; init; }
    /// <summary>Null when the plan cannot buy extra messages.</summary>
    public decimal? PricePerExtraMessage { get; init; }
}

/// <summary>LINE's prices for the forecast, bound from <c>Stepcast:Quota:Pricing</c>; Japanese list prices by default.</summary>
public sealed class PlanPricingOptions
{
    public const string SectionName = "Stepcast:Quota:Pricing";

    public string Currency { get; set; } = "JPY";

    /// <summary>Japan, tax excluded. The standard plan's extra messages are tiered at LINE, from 3 yen down; 3 is the upper bound.</summary>
    public Dictionary<LinePlan, PlanPrice> Plans { get; set; } = new()
    {
        [LinePlan.Communication] = new PlanPrice { MonthlyFee = 0, IncludedMessages = 200 },
        [LinePlan.Light] = new PlanPrice { MonthlyFee = 5_000, IncludedMessages = 5_000 },
        [LinePlan.Standard] = new PlanPrice { MonthlyFee = 15_000, IncludedMessages = 30_000, PricePerExtraMessage = 3 },
    };
}
