using System.Diagnostics.CodeAnalysis;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Quota;

/// <summary>Plan settings as a caller wrote them (JSON or configuration), not yet checked; <c>null</c> means "not given".</summary>
public sealed record RawQuotaSettings
{
    public string? Plan { get; init; }
    public long? ExtraMessageCap { get; init; }
    public long? CustomMonthlyLimit { get; init; }
    public string? WhenExhausted { get; init; }
    public IReadOnlyCollection<int>? AlertThresholds { get; init; }
    public string? TimeZone { get; init; }
}

/// <summary>
/// The one place that decides whether plan settings make sense, for the quota API, channel registration and
/// configuration alike. Problems name the field as a camelCase JSON path (<c>$.extraMessageCap</c>); each caller
/// turns that into its own form (a JSON property, a configuration key). There is at most one problem per field, and
/// its message reads after the field's name.
/// </summary>
public static class QuotaSettingsValidator
{
    /// <summary>
    /// Applies <paramref name="raw"/> over <paramref name="current"/>: a value not given keeps the current one, except
    /// that leaving the standard plan drops its paid cap.
    /// </summary>
    public static bool TryApply(
        RawQuotaSettings raw,
        QuotaSettings current,
        [NotNullWhen(true)] out QuotaSettings? settings,
        out IReadOnlyList<ValidationProblem> problems)
    {
        var found = new List<ValidationProblem>();
        // Null when the plan given cannot be read: the checks that depend on the plan would only guess, so they are skipped.
        LinePlan? plan = current.Plan;
        if (raw.Plan is not null)
        {
            plan = TryParsePlan(raw.Plan, out var parsed) ? parsed : null;
            if (plan is null)
            {
                found.Add(new("$.plan", $"'{raw.Plan}' must be communication, light, standard, custom or unlimited."));
            }
        }

        var policy = current.WhenExhausted;
        if (raw.WhenExhausted is not null && !TryParseEnum(raw.WhenExhausted, out policy))
        {
            found.Add(new("$.whenExhausted", $"'{raw.WhenExhausted}' must be pause or skip."));
        }

        if (raw.ExtraMessageCap is < 0)
        {
            found.Add(new("$.extraMessageCap", "must be zero or more."));
        }
        else if (raw.ExtraMessageCap > 0 && plan is not null and not LinePlan.Standard)
        {
            found.Add(new("$.extraMessageCap", "must be zero unless the plan is standard: only the standard plan buys extra messages."));
        }

        var customLimit = raw.CustomMonthlyLimit ?? current.CustomMonthlyLimit;
        if (plan == LinePlan.Custom && customLimit <= 0)
        {
            found.Add(new("$.customMonthlyLimit", "must be at least 1 for the custom plan."));
        }

        if (raw.AlertThresholds is { } thresholds && thresholds.Any(t => t is < 1 or > 100))
        {
            found.Add(new("$.alertThresholds", "must each be a percentage from 1 to 100."));
        }

        var timeZone = raw.TimeZone ?? current.TimeZone;
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _))
        {
            found.Add(new("$.timeZone", $"'{timeZone}' is not an IANA time zone, e.g. Asia/Tokyo."));
        }

        problems = found;
        if (found.Count > 0 || plan is not { } knownPlan)
        {
            settings = null;
            return false;
        }

        settings = current with
        {
            Plan = knownPlan,
            WhenExhausted = policy,
            ExtraMessageCap = raw.ExtraMessageCap ?? (knownPlan == LinePlan.Standard ? current.ExtraMessageCap : 0),
            CustomMonthlyLimit = customLimit,
            AlertThresholds = raw.AlertThresholds is { } given ? [.. given.Distinct().Order()] : current.AlertThresholds,
            TimeZone = timeZone,
        };
        return true;
    }

    /// <summary>A plan's name, any case; a number that names no plan is refused.</summary>
    public static bool TryParsePlan(string text, out LinePlan plan) => TryParseEnum(text, out plan);

    /// <summary>
    /// A value's name only: Enum.TryParse also takes numbers ("1") and flag lists ("light,standard"), which would
    /// quietly pick a plan nobody named.
    /// </summary>
    private static bool TryParseEnum<TEnum>(string text, out TEnum value) where TEnum : struct, Enum
    {
        var name = Enum.GetNames<TEnum>().FirstOrDefault(n => string.Equals(n, text.Trim(), StringComparison.OrdinalIgnoreCase));
        value = name is null ? default : Enum.Parse<TEnum>(name);
        return name is not null;
    }
}
