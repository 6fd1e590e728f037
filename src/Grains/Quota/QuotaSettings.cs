using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Stepcast.Grains.Quota;

/// <summary>LINE Official Account plans in Japan; each includes a number of free pushed messages per month.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LinePlan>))]
public enum LinePlan
{
    /// <summary>200 messages a month, no paid extras.</summary>
    Communication,
    /// <summary>5,000 messages a month, no paid extras.</summary>
    Light,
    /// <summary>30,000 messages a month, plus paid extra messages up to the cap the brand sets.</summary>
    Standard,
    /// <summary>No plan set: Stepcast counts but does not limit; LINE's own limit (read at reconciliation, or its 429) still applies.</summary>
    Unlimited,
    /// <summary>A monthly limit the brand sets itself (another region's plan, or a budget below its Japanese plan).</summary>
    Custom,
}

/// <summary>What a channel does with a send once its month's budget is spent.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<QuotaExhaustedPolicy>))]
public enum QuotaExhaustedPolicy
{
    /// <summary>The step keeps its place and goes out, re-evaluated, when budget returns (next month or a raised cap).</summary>
    Pause,
    /// <summary>The step is skipped (recorded in the friend's history) and the scenario goes on.</summary>
    Skip,
}

/// <summary>A channel's plan and its cost controls. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer, Immutable]
public sealed record QuotaSettings
{
    [Id(0)] public LinePlan Plan { get; init; } = LinePlan.Unlimited;

    /// <summary>Paid messages beyond the plan's free ones the brand allows per month (standard plan only; 0 = none).</summary>
    [Id(1)] public long ExtraMessageCap { get; init; }

    [Id(2)] public QuotaExhaustedPolicy WhenExhausted { get; init; } = QuotaExhaustedPolicy.Pause;

    /// <summary>Percentages of the month's budget whose crossing raises an alert, e.g. 80 and 100.</summary>
    [Id(3)] public ImmutableArray<int> AlertThresholds { get; init; } = [80, 100];

    /// <summary>The account's time zone (IANA): the plan month starts at midnight there.</summary>
    [Id(4)] public string TimeZone { get; init; } = "Asia/Tokyo";

    /// <summary>The monthly limit of the <see cref="LinePlan.Custom"/> plan.</summary>
    [Id(5)] public long CustomMonthlyLimit { get; init; }

    public static long FreeMessages(LinePlan plan) => plan switch
    {
        LinePlan.Communication => 200,
        LinePlan.Light => 5_000,
        LinePlan.Standard => 30_000,
        LinePlan.Unlimited => long.MaxValue / 2,
        LinePlan.Custom => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(plan), plan, null),
    };

    /// <summary>The most messages the channel may push in a month: the plan's free ones plus, on standard, the paid cap.</summary>
    public long MonthlyLimit => Plan switch
    {
        LinePlan.Custom => Math.Max(0, CustomMonthlyLimit),
        LinePlan.Standard => FreeMessages(Plan) + Math.Max(0, ExtraMessageCap),
        _ => FreeMessages(Plan),
    };
}
