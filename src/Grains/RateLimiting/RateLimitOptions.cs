namespace Stepcast.Grains.RateLimiting;

/// <summary>
/// LINE's per-channel rate limits, enforced across every silo, bound from <c>Stepcast:RateLimits</c>
/// (e.g. <c>Stepcast:RateLimits:Push:Limit=2000</c>). Defaults are LINE's published limits.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "Stepcast:RateLimits";

    /// <summary>False turns the limiter off (every permit is granted at once); for load runs that measure its cost.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// A permit must be used this long before the active part of its period ends (see <see cref="QuietSlots"/>), as
    /// extra margin for the HTTP latency. Zero by default: the quiet slot already gives a request a slot's length to
    /// reach LINE. Permits not used by then are dropped.
    /// </summary>
    public TimeSpan SendGuard { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How many slots past the current one the grain may lease. Ahead leases let a busy silo line up the next slot
    /// while it finishes this one; they also fix how long a fresh activation must hold back (it cannot know what an
    /// earlier activation leased).
    /// </summary>
    public int LookaheadSlots { get; set; } = 2;

    /// <summary>
    /// Slots at the end of each period that hand out no permits, so requests started late in a period still reach
    /// LINE inside it (see <see cref="PermitSchedule"/>). 0 spreads permits over the whole period.
    /// </summary>
    public int QuietSlots { get; set; } = 1;

    /// <summary>The most permits a silo asks for in one lease.</summary>
    public int MaxLeaseSize { get; set; } = 500;

    public RateLimitRule Push { get; set; } = new() { Limit = 2_000, Period = TimeSpan.FromSeconds(1), Slots = 10 };
    public RateLimitRule Multicast { get; set; } = new() { Limit = 200, Period = TimeSpan.FromSeconds(1), Slots = 10 };
    public RateLimitRule Narrowcast { get; set; } = new() { Limit = 60, Period = TimeSpan.FromHours(1), Slots = 60 };
    public RateLimitRule Broadcast { get; set; } = new() { Limit = 60, Period = TimeSpan.FromHours(1), Slots = 60 };
    public RateLimitRule Profile { get; set; } = new() { Limit = 2_000, Period = TimeSpan.FromSeconds(1), Slots = 10 };

    /// <summary>The rule of one of the <see cref="LineApis"/>.</summary>
    public RateLimitRule RuleFor(string api) => api switch
    {
        LineApis.Push => Push,
        LineApis.Multicast => Multicast,
        LineApis.Narrowcast => Narrowcast,
        LineApis.Broadcast => Broadcast,
        LineApis.Profile => Profile,
        _ => throw new ArgumentException($"No rate limit is defined for the LINE API '{api}'.", nameof(api)),
    };
}

/// <summary>
/// At most <see cref="Limit"/> requests per <see cref="Period"/>, handed out in <see cref="Slots"/> equal time slots
/// aligned to the clock (a one-second period's slots start on whole seconds), so every aligned period — the window
/// LINE counts in — gets at most <see cref="Limit"/> permits however the slots are shared between silos.
/// </summary>
public sealed class RateLimitRule
{
    public int Limit { get; set; }
    public TimeSpan Period { get; set; }

    /// <summary>More slots spread a period's permits more evenly (smaller bursts) at the cost of more lease calls.</summary>
    public int Slots { get; set; } = 10;

    public TimeSpan SlotLength => TimeSpan.FromTicks(Period.Ticks / Slots);

    public void Validate(string api)
    {
        if (Limit <= 0 || Period <= TimeSpan.Zero || Slots <= 0 || Period.Ticks % Slots != 0
            || TimeSpan.FromDays(1).Ticks % Period.Ticks != 0)
        {
            throw new InvalidOperationException(
                $"Rate limit '{api}' needs Limit > 0, a Period that divides a day and a Slots count that divides the Period (got {Limit}/{Period}/{Slots}).");
        }
    }
}
