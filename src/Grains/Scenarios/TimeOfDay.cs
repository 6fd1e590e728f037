namespace Stepcast.Grains.Scenarios;

/// <summary>The "HH:mm" local times used by wait steps (<c>at</c>) and quiet hours.</summary>
public static class TimeOfDay
{
    /// <summary>
    /// Reads exactly two digits, a colon and two digits, 00:00–23:59. Stricter than TimeOnly.TryParseExact on purpose:
    /// "9:00" or "24:00" in a scenario is more likely a typo than an intent, and the validator should say so.
    /// </summary>
    public static bool TryParseHhMm(string? text, out TimeOnly time)
    {
        time = default;
        if (text is not { Length: 5 } || text[2] != ':'
            || !IsDigit(text[0]) || !IsDigit(text[1]) || !IsDigit(text[3]) || !IsDigit(text[4]))
        {
            return false;
        }

        var hour = (text[0] - '0') * 10 + (text[1] - '0');
        var minute = (text[3] - '0') * 10 + (text[4] - '0');
        if (hour > 23 || minute > 59)
        {
            return false;
        }

        time = new TimeOnly(hour, minute);
        return true;
    }

    /// <summary>Like <see cref="TryParseHhMm"/> but throws; for code paths that only see validated scenarios.</summary>
    public static TimeOnly ParseHhMm(string? text) =>
        TryParseHhMm(text, out var time)
            ? time
            : throw new FormatException($"'{text}' is not a local time in HH:mm form (00:00–23:59).");

    // char.IsDigit would also accept full-width and other Unicode digits.
    private static bool IsDigit(char c) => c is >= '0' and <= '9';
}
