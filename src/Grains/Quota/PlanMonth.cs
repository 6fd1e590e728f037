using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Quota;

/// <summary>A plan month: it starts and ends at local midnight on the 1st in the account's time zone.</summary>
public readonly record struct PlanMonth(string Key, DateTimeOffset StartsAt, DateTimeOffset EndsAt)
{
    public static PlanMonth Containing(DateTimeOffset instant, string timeZone)
    {
        var zone = TimeZones.Get(timeZone);
        var local = TimeZoneInfo.ConvertTime(instant, zone);
        var first = new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        var next = first.AddMonths(1);
        return new PlanMonth(
            $"{local.Year:D4}-{local.Month:D2}",
            new DateTimeOffset(first, zone.GetUtcOffset(first)),
            new DateTimeOffset(next, zone.GetUtcOffset(next)));
    }
}
