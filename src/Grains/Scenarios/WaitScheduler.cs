namespace Stepcast.Grains.Scenarios;

/// <summary>
/// Turns wait steps, timeouts and quiet hours into instants. Time semantics, which docs/scenarios.md repeats for
/// marketers:
/// <list type="bullet">
/// <item><description><b>Days</b> are calendar days in the scenario's time zone: the local wall-clock time is kept,
/// so "1 day" after 09:15 is 09:15 the next day even when a DST change makes that 23 or 25 hours.</description></item>
/// <item><description><b>Hours and minutes</b> are elapsed time, added after the days.</description></item>
/// <item><description>A local time that does not exist (spring-forward gap) moves to the end of the gap, the first
/// instant the clock shows again; a local time that occurs twice (fall-back) takes the earlier instant.</description></item>
/// </list>
/// </summary>
public static class WaitScheduler
{
    /// <summary>
    /// When a wait that starts at <paramref name="startedAt"/> is due. Without <see cref="WaitStep.At"/> it is
    /// <c>days</c> calendar days plus <c>hours</c> and <c>minutes</c> of elapsed time later. With <c>at</c> it is that
    /// local time on the local date <c>days</c> after the start date, or the day after that when the time is not
    /// after <paramref name="startedAt"/> (so "at 10:00" started at 11:00 means tomorrow 10:00). Either way the result
    /// is then moved out of the step's quiet hours.
    /// </summary>
    public static DateTimeOffset ComputeDue(WaitStep step, DateTimeOffset startedAt, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(zone);

        DateTimeOffset due;
        if (step.At is null)
        {
            due = AddRelative(startedAt, step.Days, step.Hours, step.Minutes, zone);
        }
        else
        {
            var atTime = TimeOfDay.ParseHhMm(step.At);
            var date = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(startedAt, zone).DateTime).AddDays(step.Days);
            due = ResolveLocal(date.ToDateTime(atTime), zone);
            while (due <= startedAt)
            {
                date = date.AddDays(1);
                due = ResolveLocal(date.ToDateTime(atTime), zone);
            }
        }

        return step.QuietHours.IsDefaultOrEmpty ? due : DeferOutOfQuietHours(due, step.QuietHours, zone);
    }

    /// <summary>When a wait-for-event step gives up, with the same day semantics as <see cref="ComputeDue"/>.</summary>
    public static DateTimeOffset TimeoutAt(Duration timeout, DateTimeOffset startedAt, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(timeout);
        ArgumentNullException.ThrowIfNull(zone);
        return AddRelative(startedAt, timeout.Days, timeout.Hours, timeout.Minutes, zone);
    }

    /// <summary>
    /// If <paramref name="at"/> falls inside a window [Start, End) of local time, moves it to that window's end on the
    /// right local date (a window crossing midnight, e.g. 22:00–08:00, ends on the next date when entered before
    /// midnight). Repeats while the result lands in another window. Windows with Start = End are ignored; the
    /// validator rejects them.
    /// </summary>
    public static DateTimeOffset DeferOutOfQuietHours(DateTimeOffset at, IReadOnlyList<QuietHours> windows, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(zone);
        if (windows.Count == 0)
        {
            return at;
        }

        var parsed = new (TimeOnly Start, TimeOnly End)[windows.Count];
        for (var i = 0; i < windows.Count; i++)
        {
            parsed[i] = (TimeOfDay.ParseHhMm(windows[i].Start), TimeOfDay.ParseHhMm(windows[i].End));
        }

        // Each pass moves strictly later and leaves the window it was in, so chained windows settle within a
        // bounded number of passes; the bound only guards against a pathological zone.
        var current = at;
        for (var pass = 0; pass <= parsed.Length * 2 + 1; pass++)
        {
            var moved = EndOfWindowContaining(current, parsed, zone);
            if (moved is null)
            {
                return current;
            }

            current = moved.Value;
        }

        return current;
    }

    private static DateTimeOffset? EndOfWindowContaining(DateTimeOffset at, (TimeOnly Start, TimeOnly End)[] windows, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(at, zone).DateTime;
        var date = DateOnly.FromDateTime(local);
        var time = TimeOnly.FromDateTime(local);

        foreach (var (start, end) in windows)
        {
            DateOnly endDate;
            if (start < end && time >= start && time < end)
            {
                endDate = date;
            }
            else if (start > end && time >= start)
            {
                endDate = date.AddDays(1);
            }
            else if (start > end && time < end)
            {
                endDate = date;
            }
            else
            {
                continue;
            }

            var endLocal = endDate.ToDateTime(end);
            var resolved = ResolveLocal(endLocal, zone);
            if (resolved <= at && zone.IsAmbiguousTime(endLocal))
            {
                // We are in the second run of a repeated hour, so the window ends at the second occurrence.
                resolved = new DateTimeOffset(endLocal, zone.GetAmbiguousTimeOffsets(endLocal).Min());
            }

            return resolved > at ? TimeZoneInfo.ConvertTime(resolved, zone) : null;
        }

        return null;
    }

    private static DateTimeOffset AddRelative(DateTimeOffset startedAt, int days, int hours, int minutes, TimeZoneInfo zone)
    {
        var result = TimeZoneInfo.ConvertTime(startedAt, zone);
        if (days != 0)
        {
            // Only re-resolve when days move the date: resolving the start's own wall-clock time would turn the second
            // 01:30 of a fall-back night into the first one, i.e. an hour earlier.
            result = ResolveLocal(result.DateTime.AddDays(days), zone);
        }

        return TimeZoneInfo.ConvertTime(result + new TimeSpan(hours, minutes, 0), zone);
    }

    /// <summary>The instant a local wall-clock time in <paramref name="zone"/> means, per the rules on this class.</summary>
    public static DateTimeOffset ResolveLocal(DateTime local, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);

        if (zone.IsInvalidTime(local))
        {
            return TimeZoneInfo.ConvertTime(EndOfGap(local, zone), zone);
        }

        if (zone.IsAmbiguousTime(local))
        {
            // The larger offset is the one in force first (e.g. EDT before EST), so it gives the earlier instant.
            return new DateTimeOffset(local, zone.GetAmbiguousTimeOffsets(local).Max());
        }

        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    private static DateTimeOffset EndOfGap(DateTime local, TimeZoneInfo zone)
    {
        var before = local;
        while (zone.IsInvalidTime(before))
        {
            before = before.AddMinutes(-1);
        }

        var after = local;
        while (zone.IsInvalidTime(after))
        {
            after = after.AddMinutes(1);
        }

        var offsetBefore = zone.GetUtcOffset(before);
        var offsetAfter = zone.GetUtcOffset(after);

        // Read with the later offset the local time is an instant before the transition, with the earlier offset one
        // after it; the transition, where the gap ends, lies between. Transitions fall on whole seconds.
        var low = new DateTimeOffset(local, offsetAfter).ToUnixTimeSeconds();
        var high = new DateTimeOffset(local, offsetBefore).ToUnixTimeSeconds() + 1;
        while (high - low > 1)
        {
            var middle = low + (high - low) / 2;
            if (zone.GetUtcOffset(DateTimeOffset.FromUnixTimeSeconds(middle)) == offsetAfter)
            {
                high = middle;
            }
            else
            {
                low = middle;
            }
        }

        return DateTimeOffset.FromUnixTimeSeconds(high);
    }
}
