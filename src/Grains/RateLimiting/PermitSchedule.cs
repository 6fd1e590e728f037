namespace Stepcast.Grains.RateLimiting;

/// <summary>
/// The bookkeeping behind <see cref="RateLimitGrain"/>: how many permits of each clock-aligned slot are leased.
/// Plain C# with the time passed in, so the arithmetic is tested without a silo.
/// </summary>
/// <remarks>
/// Slot <c>s</c> covers <c>[s·L, (s+1)·L)</c> in UTC ticks, and slot budgets are spread so each aligned period sums to
/// exactly the limit (e.g. 2,000/s over nine slots of 100 ms). A lease never spans two periods, so however leases are
/// shared between silos, the permits leased in one aligned period never exceed the limit, and each is usable only
/// from its slot's start to the end of that period's active part.
/// <para>
/// The last slot of each period (<c>quietSlots</c>) has no permits. A request starts inside its slot but reaches
/// LINE a little later; without the quiet slot, one started at the end of a second would be counted in the next
/// second, on top of that second's full budget. With it, a request may take a whole slot to arrive and still be
/// counted in the second it was meant for. The rate is unchanged; only its spread inside the period is.
/// </para>
/// </remarks>
public sealed class PermitSchedule
{
    private readonly RateLimitRule _rule;
    private readonly int _lookaheadSlots;
    private readonly long _slotTicks;
    private readonly Dictionary<long, int> _leased = [];
    private readonly long _firstLeasableSlot;
    private readonly int _activeSlots;

    /// <summary>
    /// A schedule that knows nothing about earlier leases. An earlier activation (before a crash or a move) may have
    /// leased the current slot and up to <paramref name="lookaheadSlots"/> more, so this one starts after them.
    /// </summary>
    public PermitSchedule(RateLimitRule rule, int lookaheadSlots, DateTimeOffset createdAt, int quietSlots = 1)
    {
        ArgumentNullException.ThrowIfNull(rule);
        _rule = rule;
        _activeSlots = Math.Clamp(rule.Slots - quietSlots, 1, rule.Slots);
        _lookaheadSlots = Math.Max(0, lookaheadSlots);
        _slotTicks = rule.SlotLength.Ticks;
        _firstLeasableSlot = SlotOf(createdAt) + _lookaheadSlots + 1;
    }

    /// <summary>
    /// Leases up to <paramref name="wanted"/> permits from the earliest slot, from now to the lookahead, that has any
    /// left; nothing (and when to ask again) when they are all leased.
    /// </summary>
    public RateLease Lease(int wanted, DateTimeOffset now)
    {
        var current = SlotOf(now);
        var last = current + _lookaheadSlots;
        Forget(current);
        for (var slot = Math.Max(current, _firstLeasableSlot); slot <= last; slot++)
        {
            var leased = _leased.GetValueOrDefault(slot);
            var left = BudgetOf(slot) - leased;
            if (left <= 0)
            {
                continue;
            }

            var granted = Math.Min(Math.Max(wanted, 1), left);
            _leased[slot] = leased + granted;
            var start = StartOf(slot);
            return new RateLease(granted, start > now ? start - now : TimeSpan.Zero, ActiveEndOf(slot) - now);
        }

        var retryAt = StartOf(Math.Max(last + 1, _firstLeasableSlot));
        return new RateLease(0, retryAt - now, retryAt - now);
    }

    /// <summary>How many permits slot <paramref name="slot"/> has in all: the period's limit spread over its active slots.</summary>
    public int BudgetOf(long slot)
    {
        long position = slot % _rule.Slots;
        return position >= _activeSlots
            ? 0
            : (int)(((position + 1) * _rule.Limit / _activeSlots) - (position * _rule.Limit / _activeSlots));
    }

    /// <summary>
    /// Where the active part of the slot's period ends. A permit may be used up to there, not just to its slot's
    /// end: the limit holds per period, and every permit of the period is still used inside it, so a silo need not
    /// drop the permits its slot did not need.
    /// </summary>
    public DateTimeOffset ActiveEndOf(long slot) => StartOf(slot - (slot % _rule.Slots) + _activeSlots);

    public long SlotOf(DateTimeOffset time) => time.UtcTicks / _slotTicks;

    public DateTimeOffset StartOf(long slot) => new(slot * _slotTicks, TimeSpan.Zero);

    private void Forget(long current)
    {
        // Only the current slot and the lookahead are ever leased, so the dictionary stays a few entries long.
        if (_leased.Count <= _lookaheadSlots + 1)
        {
            return;
        }

        foreach (var slot in _leased.Keys.Where(s => s < current).ToList())
        {
            _leased.Remove(slot);
        }
    }
}
