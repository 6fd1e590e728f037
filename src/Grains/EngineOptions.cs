namespace Stepcast.Grains;

/// <summary>Engine settings, bound from the <c>Stepcast:Engine</c> configuration section.</summary>
public sealed class EngineOptions
{
    public const string SectionName = "Stepcast:Engine";

    /// <summary>
    /// Divides every wait, so a person can watch a month-long scenario play out in the sandbox
    /// (86400 makes a day last a second). 1 in production.
    /// </summary>
    public double WaitCompression { get; set; } = 1;

    /// <summary>How long a silo reuses a channel's scenario catalogue before asking the channel grain again.</summary>
    public TimeSpan CatalogCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a waiting friend's reminder re-fires if a tick was not handled (crash, storage outage).</summary>
    public TimeSpan ReminderRetryPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Whether a step due now or within <see cref="ReminderRetryPeriod"/> is also covered by a reminder, stored before
    /// the state that made it due, so a silo that crashes before running it does not lose it. On by default. The
    /// embedded topology turns it off: its reminders live in the same process memory as the state, which a crash loses
    /// with them. There the activation's own timer covers such a step (its run failing, say), at the retry period, and
    /// every step due within <see cref="DeactivateWhenIdleFor"/> while the friend stays in memory.
    /// </summary>
    public bool DurableSafetyNet { get; set; } = true;

    /// <summary>
    /// Whether a send that may go by multicast stores its route (its batch, or its choice to push alone) before it goes,
    /// so that after a crash it goes back to the same batch or push and is never delivered twice. On by default. The
    /// embedded topology turns it off, as it does <see cref="DurableSafetyNet"/>: a crash there loses the batch and the
    /// friend's state with the route, and short of a crash the run's own write at its end stores the route for a retry.
    /// </summary>
    public bool StoreRouteBeforeSending { get; set; } = true;

    /// <summary>
    /// How often the cluster looks in storage for friends whose safety net is overdue (<see cref="Friends.ISafetyNetStore"/>,
    /// the batched PostgreSQL store): a friend a crashed silo was running is woken within a retry period plus this.
    /// </summary>
    public TimeSpan SafetyNetSweepPeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Reminders of steps due at the same moment fire spread over this window, each friend at its own offset, so a
    /// cohort due at 10:00 is woken over the window rather than in one second (see <c>WakeSpread</c>). A step goes
    /// out at most this long after its due time; the due time itself, and what the API shows, stay exact. Off (zero)
    /// by default: a spread also caps a cohort's send rate at its size over the window (20,000 friends over a minute
    /// is 333 a second, far under LINE's 2,000), and it did not cure a 100,000-friend cohort's stall on PostgreSQL
    /// (benchmarks/history.md). For storage that cannot take a cohort's wake-ups at once.
    /// </summary>
    public TimeSpan WakeSpread { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// A friend whose next step is further away than this lists itself in its channel's wake slot for that minute
    /// (<see cref="Friends.IWakeSlotGrain"/>) instead of keeping a reminder of its own, and is woken within the minute
    /// after its due time. Longer than Orleans' reminder loading window (ten minutes), so the reminders a silo holds in
    /// memory are only those of steps due soon. Zero keeps every wait on the friend's own reminder.
    /// </summary>
    public TimeSpan WakeSlotHorizon { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Whether directory buckets and wake slots store LINE user ids in LINE's form as 16 bytes each rather than as text
    /// (<see cref="Friends.PackedLineUserIds"/>). Rows of either kind are read alike. On by default; releases before
    /// session 16's (2026-12-07) cannot read packed ids, so a rolling upgrade from one turns it off until every silo
    /// runs this release (docs/operations.md).
    /// </summary>
    public bool PackLineUserIds { get; set; } = true;

    /// <summary>
    /// How many friends one wake slot wakes at a time. A call lasts as long as the friend's run (a multicast window, a
    /// rate-limit wait), so this, times the slots of a minute, bounds the friends a cohort has in flight.
    /// </summary>
    public int WakeSlotConcurrency { get; set; } = 500;

    /// <summary>
    /// The longest a wake slot waits between tries when some of its friends cannot be woken (their tries come a quarter
    /// of the slot's lateness apart, from <see cref="ReminderRetryPeriod"/> up to this).
    /// </summary>
    public TimeSpan WakeSlotMaxRetryPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>When a send must be retried later (LINE 5xx, timeouts), the delay before the next attempt.</summary>
    public TimeSpan SendRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// When a send found no rate-limit permit (a burst larger than the channel's per-second limit), the longest it waits
    /// before trying again; each friend picks a random delay up to this, so the burst drains at the limit's pace.
    /// </summary>
    public TimeSpan ThrottledRetryDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long one run of due steps keeps retrying a throttled send within the call that started it, which holds
    /// the friend meanwhile. Past it the friend wakes itself for the next retry. At most 25 s: Orleans' grain call
    /// timeout is 30 s, and the reminder tick or call that started the run must be answered in time.
    /// </summary>
    public TimeSpan ThrottledRetryWindow { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The longest <see cref="ThrottledRetryWindow"/> allowed.</summary>
    public static readonly TimeSpan MaxThrottledRetryWindow = TimeSpan.FromSeconds(25);

    /// <summary>While a scenario is paused, how often its runs look again whether it has been resumed.</summary>
    public TimeSpan PausedRecheckInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A friend whose next step is further away than this leaves memory right after scheduling it.</summary>
    public TimeSpan DeactivateWhenIdleFor { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long after a run the clock started (a reminder, a wake slot) a friend left with nothing due soon leaves
    /// memory: after the burst that woke it rather than within it. Zero leaves at once.
    /// </summary>
    public TimeSpan LeaveAfterWokenRun { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The memory load, in percent of the memory available to the process (a pod's limit, a heap hard limit), from which
    /// the silo counts as short of memory (<see cref="Friends.MemoryPressure"/>). While it is, a friend whose next step is
    /// more than <see cref="ReminderRetryPeriod"/> away waits in a wake slot rather than on a reminder, and every friend
    /// not due within that period leaves memory as soon as its turn ends. Below Orleans' own activation shedding (80 %),
    /// so that friends step aside before the runtime starts deactivating the least recently used. Above 100 turns it off
    /// (a load can pass 100 %: under a heap hard limit the whole working set counts against the heap's limit).
    /// </summary>
    public double ShortOfMemoryAtLoadPercent { get; set; } = 70;

    /// <summary>How many entries of what was sent, skipped or failed each friend keeps.</summary>
    public int HistoryLimit { get; set; } = 100;
}
