namespace Stepcast.Grains.Quota;

/// <summary>Plan-quota behaviour, bound from <c>Stepcast:Quota</c>.</summary>
public sealed class QuotaOptions
{
    public const string SectionName = "Stepcast:Quota";

    /// <summary>How often a channel's quota grain reads LINE's own quota and consumption while it is active.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a send held for budget waits before asking again on its own. The quota grain wakes held sends
    /// itself when budget returns; this is the fallback for when it lost its list (a restart), and is capped by
    /// the month's end.
    /// </summary>
    public TimeSpan HeldRecheckInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>
    /// Held sends asking again at the start of a month spread over this window, so a million of them do not
    /// arrive in the same second.
    /// </summary>
    public TimeSpan MonthStartSpread { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A reservation neither committed nor released within this time is counted as used: its sender may have
    /// delivered and then crashed before committing. Counting it never overspends; reconciliation with LINE corrects it.
    /// </summary>
    public TimeSpan ReservationTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How many held sends are woken at once when budget returns (1 keeps strict due order).</summary>
    public int ResumeConcurrency { get; set; } = 16;
}
