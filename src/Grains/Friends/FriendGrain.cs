using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Clicks;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Delivery.Multicast;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Diagnostics;
using Stepcast.Grains.Scenarios;
using Stepcast.Grains.Stats;

namespace Stepcast.Grains.Friends;

/// <summary>
/// Runs a friend's scenarios. Each command is answered once its effect is persisted; due sends then run in the
/// background. Exactly-once sending rests on three rules: a send's retry key is persisted before its first
/// attempt; a reminder (or a wake-slot listing, or the safety net in the state's own row) always exists no later
/// than the earliest due step (stored before or with the state that needs it); and every tick is reconciled against
/// the stored due times, so a late, repeated or missed tick neither skips nor repeats a step.
/// A text matching one of the channel's auto-reply rules is answered through LINE's reply API in the same background
/// run, at most once: the reply waits in memory only, behind the persisted event id, so a redelivered webhook is a
/// duplicate and a lost activation loses the reply rather than sending it twice (its token would be stale anyway).
/// </summary>
[CollectionAgeLimit(Minutes = 2)]
// Millions of small, independent grains: an even spread over the silos matters more than load-aware placement,
// which on identical silos piles new activations onto whichever looked idlest a moment ago.
[Orleans.Placement.RandomPlacement]
[GrainType(FriendGrainFactoryExtensions.GrainTypeName)]
public sealed class FriendGrain(
    [PersistentState("friend", StorageNames.Friends)] IPersistentState<FriendState> state,
    ScenarioCatalog catalog,
    IMessageDelivery delivery,
    MulticastCoalescer coalescer,
    TimeProvider timeProvider,
    IOptions<EngineOptions> engineOptions,
    ILogger<FriendGrain> logger,
    StatsCollector statsCollector,
    IOptions<StatsOptions> statsOptions,
    ClickTokens clickTokens,
    IReminderTable reminderTable) : Grain, IFriendGrain, IRemindable
{
    private const string WakeUpReminder = "wake-up";

    private const int RecentEventIdLimit = 64;
    private const int SeenEventLimit = 100;
    private const int RecentSendLimit = FrequencyCap.MaxMessages;

    private readonly EngineOptions _options = engineOptions.Value;
    private FriendKey _key;
    private ScenarioInterpreter _interpreter = null!;
    private FriendStatsTracker _stats = null!;
    private IGrainReminder? _reminder;
    /// <summary>Set after a woken run left nothing due soon: the friend leaves memory when it fires (<see cref="LeaveMemoryIfIdle"/>).</summary>
    private IGrainTimer? _leaveTimer;
    /// <summary>The safety net stored straight in the reminder table (see <see cref="StoreSafetyNetRowAsync"/>).</summary>
    private ReminderEntry? _safetyNetRow;
    /// <summary>The earliest retry of a send refused a rate-limit permit in the current pass of due steps (set by DeliverAsync).</summary>
    private DateTimeOffset? _throttledRetryAt;
    /// <summary>The due time the reminder is known to be registered for; null when unknown (fresh activation).</summary>
    private DateTimeOffset? _reminderDueAt;
    private bool _reminderKnownAbsent;
    /// <summary>The activation's own wake-up for a step due within one reminder period (see <see cref="ArmWakeUp"/>).</summary>
    private IGrainTimer? _wakeTimer;
    private DateTimeOffset? _wakeAt;
    /// <summary>The pending wake-up only stands in for a reminder behind a step due now (see <see cref="ArmWakeUp"/>).</summary>
    private bool _wakeIsFallback;
    /// <summary>A write failed and this activation is on its way out (see <see cref="OnDeactivateAsync"/>).</summary>
    private bool _failedWrite;
    /// <summary>
    /// Friend storage keeps each row's safety net (<see cref="ISafetyNetStore"/>): a step due now or within a retry
    /// period is covered by the write that made it due, with no reminder row beside it.
    /// </summary>
    private bool _safetyNetInRow;
    /// <summary>Auto-replies accepted with their command and not yet sent; never persisted (see the class remarks).</summary>
    private readonly Queue<PendingReply> _pendingReplies = new();
    /// <summary>Quota reservations to commit (true) or release (false) once the outcome that decides it is stored.</summary>
    private readonly List<(Guid RetryKey, bool Commit)> _quotaSettlements = [];
    /// <summary>
    /// Retry keys of sends that may go by multicast and left their budget to the batch (the coalescer reserves for all
    /// its members in one request); such a send reserves for itself only if it pushes alone after all.
    /// </summary>
    private readonly HashSet<Guid> _budgetWithBatch = [];
    private StepcastMetrics? _metrics;
    private MemoryPressure _memory = null!;
    /// <summary>
    /// Sends due now that joined a multicast group before the command's write (see <see cref="JoinMulticastEarlyAsync"/>):
    /// their quota is reserved and their run's batch id is the group's; the run confirms them once the group is sealed.
    /// </summary>
    private readonly Dictionary<Guid, MulticastEnlistment> _joinedEarly = [];
    /// <summary>The retry keys of pending sends as last read from or written to storage.</summary>
    private readonly HashSet<Guid> _storedRetryKeys = [];

    private FriendState Friend => state.State;
    private DateTimeOffset Now => timeProvider.GetUtcNow();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = FriendKey.Parse(this.GetPrimaryKeyString());
        if (Friend.Attributes.Comparer != StringComparer.OrdinalIgnoreCase)
        {
            // JSON storage reloads the dictionary with the default comparer; "Age" and "age" are one attribute.
            Friend.Attributes = new Dictionary<string, string>(Friend.Attributes, StringComparer.OrdinalIgnoreCase);
        }

        _stats = new FriendStatsTracker(statsCollector, _key, Friend, statsOptions.Value);
        _interpreter = new ScenarioInterpreter(Friend, _key.ToString(), _options) { Observer = _stats };
        // Resolved here rather than in the constructor: operability stays out of the grain's contract.
        _metrics = ServiceProvider.GetRequiredService<StepcastMetrics>();
        _metrics.FriendActivated();
        _memory = ServiceProvider.GetRequiredService<MemoryPressure>();
        _safetyNetInRow = _options.DurableSafetyNet && ServiceProvider.GetService<ISafetyNetStore>() is not null;
        RememberStoredRetryKeys();
        // Listed in a wake slot, the friend has no reminder of its own: the write after the listing removed it; nor has a
        // friend never stored. If a crash left one all the same, its tick says so (ReceiveReminder), and the run it
        // starts removes it.
        _reminderKnownAbsent = Friend.WakeSlot is not null || !state.RecordExists;

        // The activation that armed a wake-up may be gone without running its step (moved, or dropped as a duplicate
        // while a silo joined): its timer went with it, and the reminder is a period behind. Whatever brought the
        // friend back wakes it for a step due now or soon; the caller's own command, if it runs the step first, wins.
        if (NextDueAt() is { } due && due - Now <= TimerHorizon)
        {
            WakeUpAt(due);
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _metrics?.FriendDeactivated();
        if (_failedWrite && (!_options.DurableSafetyNet || _safetyNetInRow))
        {
            // Leaving after a failed write, with no reminder stored before it (the row's safety net went with the
            // write): one now retries whatever storage holds as due, a period on, as a reminder stored before would have.
            try
            {
                await this.RegisterOrUpdateReminder(WakeUpReminder, _options.ReminderRetryPeriod, _options.ReminderRetryPeriod);
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Friend {Friend}: no reminder after a failed write", _key);
            }
        }
        else if (_wakeAt is not null && reason.ReasonCode is not (DeactivationReasonCode.ApplicationRequested
            or DeactivationReasonCode.ApplicationError or DeactivationReasonCode.Migrating))
        {
            // Taken away by the runtime (collected, a duplicate, its silo stopping) with a step due soon: its timer goes
            // with it and the reminder is a period behind, so a call to itself brings up the next activation, which
            // runs what is due and wakes itself for the rest. Not when the friend left on its own (a failed write: the
            // reminder retries that), nor when it migrates (the new activation wakes itself as it starts).
            this.AsReference<IFriendGrain>().RunDueStepsInBackground().Ignore();
        }
        else if (!_options.DurableSafetyNet && _wakeAt is { } wakeAt && wakeAt - Now > _options.ReminderRetryPeriod && Friend.WakeSlot is null)
        {
            // Leaving on its own (short of memory) with a step only its timer covered (TimerHorizon): a reminder takes over.
            try
            {
                await this.RegisterOrUpdateReminder(WakeUpReminder, wakeAt - Now, _options.ReminderRetryPeriod);
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Friend {Friend}: no reminder for its step due at {DueAt} as it left memory", _key, wakeAt);
            }
        }
    }

    async Task<SignalResult> IFriendGrain.Follow(FollowCommand command)
    {
        if (!MarkEventSeen(command.EventId))
        {
            return SignalResult.Duplicate;
        }

        var wasBlocked = Friend.Status == FriendStatus.Blocked;
        Friend.Status = FriendStatus.Following;
        Friend.FollowedAt = command.At;
        Friend.DisplayName = command.DisplayName ?? Friend.DisplayName;

        var entered = wasBlocked || command.IsUnblocked
            ? await UnblockAsync(command.At)
            : await EnterTriggeredAsync(t => t is FollowTrigger, command.At, "follow");
        return await AcceptAsync(entered);
    }

    async Task<SignalResult> IFriendGrain.Unfollow(UnfollowCommand command)
    {
        if (!MarkEventSeen(command.EventId))
        {
            return SignalResult.Duplicate;
        }

        Friend.Status = FriendStatus.Blocked;
        Friend.BlockedAt = command.At;
        foreach (var run in Friend.Enrollments)
        {
            run.Suspended = true;
        }

        AddHistory(HistoryKind.Blocked, command.At, null, $"{Friend.Enrollments.Count} run(s) suspended");
        _stats.Blocked(command.At);
        return await AcceptAsync([]);
    }

    async Task<SignalResult> IFriendGrain.ReceiveText(TextMessageCommand command)
    {
        if (!MarkEventSeen(command.EventId))
        {
            return SignalResult.Duplicate;
        }

        Friend.LastReplyText = command.Text;
        Friend.LastReplyAt = command.At;
        var entered = await EnterTriggeredAsync(
            t => t is KeywordTrigger keyword && KeywordMatches(keyword, command.Text), command.At, "keyword");
        var reply = string.IsNullOrEmpty(command.ReplyToken)
            || AutoReplyRule.FirstMatching((await catalog.GetCatalogAsync(_key.ChannelId)).AutoReplies, command.Text) is not { } rule
            ? null
            : new PendingReply(command.ReplyToken, rule);
        return await AcceptAsync(entered, reply);
    }

    async Task<SignalResult> IFriendGrain.RecordEvent(FriendEventCommand command)
    {
        if (!MarkEventSeen(command.EventId))
        {
            return SignalResult.Duplicate;
        }

        Friend.Events.Add(new SeenEvent(command.Name, command.At));
        if (Friend.Events.Count > SeenEventLimit)
        {
            Friend.Events.RemoveRange(0, Friend.Events.Count - SeenEventLimit);
        }

        var now = Now;
        foreach (var run in Friend.Enrollments.Where(r => !r.Suspended && r.AwaitedEvent == command.Name).ToList())
        {
            if (await DefinitionOfAsync(run) is { } scenario)
            {
                _interpreter.ContinueOnEvent(run, scenario, now);
            }
        }

        await _stats.EventRecordedAsync(command.Name, command.At, (scenarioId, version) => catalog.GetVersionAsync(_key.ChannelId, scenarioId, version));
        var entered = await EnterTriggeredAsync(
            t => t is EventTrigger trigger && trigger.Name == command.Name, command.At, $"event:{command.Name}");
        return await AcceptAsync(entered);
    }

    async Task<SignalResult> IFriendGrain.UpdateProfile(UpdateProfileCommand command)
    {
        if (!MarkEventSeen(command.EventId))
        {
            return SignalResult.Duplicate;
        }

        Friend.DisplayName = command.DisplayName ?? Friend.DisplayName;
        foreach (var (name, value) in command.SetAttributes)
        {
            Friend.Attributes[name] = value;
        }

        foreach (var name in command.RemoveAttributes)
        {
            Friend.Attributes.Remove(name);
        }

        foreach (var tag in command.RemoveTags)
        {
            Friend.Tags.Remove(tag);
        }

        var added = command.AddTags.Where(tag => !Friend.Tags.Contains(tag)).Distinct().ToList();
        Friend.Tags.AddRange(added);
        var entered = await EnterForTagsAsync(added, Now);
        return await AcceptAsync(entered);
    }

    async Task<EnrollResult> IFriendGrain.Enroll(EnrollCommand command)
    {
        // Before anything is written: an audience of unknown or unmatched ids leaves no friend rows behind.
        if (command.FollowingOnly && Friend.Status != FriendStatus.Following)
        {
            if (!state.RecordExists)
            {
                // A stranger in a million-id upload: keeping its empty activation for minutes would only cost memory.
                DeactivateOnIdle();
            }

            return new EnrollResult(Friend.Status == FriendStatus.Blocked ? EnrollOutcome.Blocked : EnrollOutcome.NotAFriend);
        }

        if (command.Segment is { } segment && !ConditionEvaluator.Evaluate(segment, _interpreter.FactsFor(new Enrollment { EnteredAt = DateTimeOffset.MinValue })))
        {
            return new EnrollResult(EnrollOutcome.NotInSegment);
        }

        if (!MarkEventSeen(command.EventId))
        {
            return new EnrollResult(EnrollOutcome.Duplicate);
        }

        var summary = (await catalog.GetCatalogAsync(_key.ChannelId)).Find(command.ScenarioId);
        var result = summary is null
            ? new EnrollResult(EnrollOutcome.ScenarioNotActive, "no such published scenario")
            : await TryEnterAsync(summary, command.At, command.Source, ignoreReentry: false);
        await AcceptAsync(result.Outcome == EnrollOutcome.Enrolled ? [command.ScenarioId] : []);
        return result;
    }

    async Task<string?> IFriendGrain.RecordClick(ClickCommand command)
    {
        if (await catalog.GetVersionAsync(_key.ChannelId, command.ScenarioId, command.Version) is not { } scenario
            || ScenarioInterpreter.StepOf(scenario, command.StepId) is not SendStep { TrackClicks: true } send)
        {
            return null;
        }

        var values = PersonalisationValues();
        if (TrackedLinks.Find([.. send.Messages.Select(m => MessagePersonalizer.Render(m, values))], command.LinkIndex) is not { } url)
        {
            return null;
        }

        ScenarioInterpreter.AddHistory(Friend, _options, new HistoryEntry
        {
            At = command.At, Kind = HistoryKind.Clicked, ScenarioId = command.ScenarioId, Version = command.Version, StepId = command.StepId, Detail = url,
        });
        _stats.Clicked(command.ScenarioId, command.StepId);
        await PersistAsync();
        return url;
    }

    Task IFriendGrain.RunDueSteps() => RunDueStepsAsync();

    Task IFriendGrain.RunDueStepsInBackground() => RunDueStepsAsync();

    Task IFriendGrain.RunOverdueSteps()
    {
        if (NextDueAt() is { } due && due <= Now)
        {
            _metrics!.ReminderLag(Now - due);
        }

        // A run ends with a write, even when it found nothing to do: the row's safety net moves on or goes with it, so
        // the next sweep does not find the friend again.
        return RunDueStepsAsync(woken: true);
    }

    async Task IFriendGrain.Wake(DateTimeOffset slot)
    {
        // That listing is spent: the slot forgets the friend once this call answers, so it must not count as cover.
        var spent = Friend.WakeSlot == slot;
        if (spent)
        {
            Friend.WakeSlot = null;
        }

        var due = NextDueAt();
        if (due is { } at && at <= Now)
        {
            _metrics!.ReminderLag(Now - at);
            await RunDueStepsAsync(woken: true);
            return;
        }

        if (spent && due is not null)
        {
            // Not due on this silo's clock (a few milliseconds behind the slot's, or the step moved without a write):
            // covered anew, by a reminder and this activation's timer, or by another slot.
            await PersistAsync();
        }

        // Otherwise the listing was left behind by a write that listed or reminded the friend anew: nothing to do.
        LeaveMemoryIfIdle(woken: true);
    }

    async Task IFriendGrain.ResumeHeldSend(Guid retryKey)
    {
        var run = Friend.Enrollments.FirstOrDefault(r => r.PendingRetryKey == retryKey && r.HeldSince is not null);
        if (run is null && SettledHere(retryKey))
        {
            // Sent (or refused) since, on a wake-up of its own: this friend's commit or release for the key is already
            // on its way. Releasing here too could overtake that commit and un-count a message LINE delivered.
            return;
        }

        if (run is null || run.Suspended || Friend.Status == FriendStatus.Blocked)
        {
            // Blocked or ended: the budget reserved for it goes back.
            Quota.Release(retryKey).Ignore();
            return;
        }

        run.DueAt = Now;
        await RunDueStepsAsync(woken: true);
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        // The tick proves a reminder exists, but not for which time: reconcile it after the run.
        _reminderDueAt = null;
        _reminderKnownAbsent = false;
        if (NextDueAt() is { } due && due <= Now)
        {
            _metrics!.ReminderLag(Now - due);
        }

        await RunDueStepsAsync(woken: true);
    }

    Task<FriendSnapshot> IFriendGrain.GetSnapshot() => Task.FromResult(new FriendSnapshot
    {
        ChannelId = _key.ChannelId,
        LineUserId = _key.LineUserId,
        Status = Friend.Status,
        FollowedAt = Friend.FollowedAt,
        BlockedAt = Friend.BlockedAt,
        DisplayName = Friend.DisplayName,
        Attributes = Friend.Attributes.ToImmutableDictionary(StringComparer.OrdinalIgnoreCase),
        Tags = [.. Friend.Tags],
        Enrollments = [.. Friend.Enrollments.Select(run => new EnrollmentView
        {
            ScenarioId = run.ScenarioId,
            Version = run.Version,
            StepId = run.StepId,
            DueAt = run.DueAt,
            AwaitedEvent = run.AwaitedEvent,
            EnteredAt = run.EnteredAt,
            Suspended = run.Suspended,
            Source = run.Source,
            HeldForQuotaSince = run.HeldSince,
        })],
        History = [.. Friend.History],
    });

    /// <summary>
    /// Persists a command's effect (with the reminder it needs) and, when a step is already due, asks the grain
    /// to run it right after answering, so the caller (a webhook) is not held up by LINE calls.
    /// </summary>
    private async Task<SignalResult> AcceptAsync(ImmutableArray<string> entered, PendingReply? reply = null)
    {
        StayAfterCommand();
        var atSend = await AdvanceDueRunsAsync(Now);
        await JoinMulticastEarlyAsync(atSend);
        try
        {
            // Listed before the first write: a crash in between leaves a listed id with no friend, which enrolls nobody.
            await PersistAsync(listing: Friend.InDirectory ? null : FriendDirectory.AddAsync(GrainFactory, _key));
        }
        catch
        {
            LeaveEarlyGroups();
            throw;
        }

        if (reply is not null)
        {
            // Only once the command (and its event id) is stored: a failed write makes LINE redeliver, and that one replies.
            _pendingReplies.Enqueue(reply);
        }

        if (_pendingReplies.Count > 0 || (NextDueAt() is { } due && due <= Now))
        {
            this.AsReference<IFriendGrain>().RunDueStepsInBackground().Ignore();
        }
        else
        {
            LeaveMemoryIfIdle();
        }

        return new SignalResult { Accepted = true, EnteredScenarios = entered };
    }

    /// <summary>
    /// A send the command made due that may go by multicast is cleared (caps, quota) and joins its multicast group now,
    /// so the batch id is stored with the command's own write rather than with one of its own: one write per welcomed
    /// follow fewer, where PostgreSQL's time per follow is mostly friend writes (benchmarks/history.md).
    /// </summary>
    private async Task JoinMulticastEarlyAsync(List<(Enrollment Run, ScenarioDefinition Scenario)> atSend)
    {
        var candidates = atSend.Where(c => c.Run.SendAttempts == 0 && !_joinedEarly.ContainsKey(c.Run.PendingRetryKey!.Value)
            && ChoosesRoute(c.Run, SendOf(c.Run, c.Scenario))).ToList();
        if (candidates.Count == 0)
        {
            return;
        }

        foreach (var (run, scenario) in await ClearForSendingAsync(candidates, Now))
        {
            var send = SendOf(run, scenario);
            var enlistment = coalescer.Join(_key.ChannelId, _key.LineUserId, run.ScenarioId, run.Version, send.Id, send.Messages, scenario.Priority);
            run.PendingBatchId = enlistment.BatchId;
            _joinedEarly[run.PendingRetryKey!.Value] = enlistment;
        }
    }

    /// <summary>
    /// The runs that joined a group early and will not confirm to it (the write failed, or the run no longer stands at
    /// that send): out of their groups, and their reservations back.
    /// </summary>
    private void LeaveEarlyGroups()
    {
        foreach (var (retryKey, enlistment) in _joinedEarly)
        {
            coalescer.Withdraw(enlistment);
            if (!_budgetWithBatch.Remove(retryKey))
            {
                Quota.Release(retryKey).Ignore();
            }
        }

        _joinedEarly.Clear();
    }

    private static SendStep SendOf(Enrollment run, ScenarioDefinition scenario) =>
        (SendStep)ScenarioInterpreter.StepOf(scenario, run.StepId!)!;

    /// <param name="woken">True for a run the clock started (a reminder, a wake slot, a timer, a resumed held send),
    /// false for one a command or a caller started.</param>
    private async Task RunDueStepsAsync(bool woken = false)
    {
        try
        {
            await RunDueStepsOnceAsync(woken);
        }
        catch (Exception exception)
        {
            // The run stopped before arming its wake-up (a reminder registration or a grain call failed): without one,
            // a step due now or within seconds would wait for the reminder, a whole period. A failed state write has
            // already dropped this activation, and its timer with it, so this never loops on a storage outage.
            logger.LogWarning(exception, "A run of due steps for {FriendKey} failed; trying again shortly", _key);
            if (NextDueAt() is { } next)
            {
                var soonest = Now + _options.ThrottledRetryDelay;
                WakeUpAt(next > soonest ? next : soonest);
            }

            throw;
        }
    }

    private async Task RunDueStepsOnceAsync(bool woken)
    {
        // First: a reply token lasts about a minute, while due pushes may take seconds of retries.
        await SendPendingRepliesAsync();

        // Each pass delivers the sends that are due; a send may lead to more instant steps and sends.
        // Passes bound a chain of instant steps; a retry after a refused permit is the same step, and is bounded by
        // time instead: for ThrottledRetryWindow it waits here, past that the activation's wake-up timer takes over.
        var started = Now;
        var passes = 0;
        _throttledRetryAt = null;
        while (passes < 100)
        {
            var throttledRetryAt = _throttledRetryAt;
            _throttledRetryAt = null;
            var now = Now;
            var atSend = await AdvanceDueRunsAsync(now);
            var retryingThrottled = throttledRetryAt is not null && now - started < _options.ThrottledRetryWindow;
            if (atSend.Count == 0)
            {
                if (retryingThrottled && throttledRetryAt > now)
                {
                    // A reminder this close may only fire a period later: Orleans skips a first tick that passed while
                    // the reminder was being stored, and a 20,000-friend burst left ~150 friends waiting a minute so.
                    // A timer counts whole milliseconds, rounding down, and may fire a little early: without the extra
                    // millisecond a retry due in under one came straight back here, over and over until it was due
                    // (~100 passes per friend in a throttled 20,000-friend burst, half of what it allocated).
                    await Task.Delay(throttledRetryAt.Value - now + TimeSpan.FromMilliseconds(1), timeProvider);
                    _throttledRetryAt = throttledRetryAt;
                    continue;
                }

                break;
            }

            if (!retryingThrottled)
            {
                passes++;
            }

            var cleared = await ClearForSendingAsync(atSend, now);

            // A send's retry key must be stored before LINE sees it; when every key is (the command that made the step
            // due stored it), this write is skipped: what the caps and the budget decided is stored with the outcome,
            // and after a crash they decide again. A send still choosing between multicast and push stores its key
            // with that choice, before either reaches LINE, so it needs no write here (in the embedded topology, whose
            // state a crash loses anyway, neither: EngineOptions.StoreRouteBeforeSending).
            if (cleared.Any(c => !_storedRetryKeys.Contains(c.Run.PendingRetryKey!.Value) && !StoresRouteBeforeSending(c.Run, c.Scenario)))
            {
                await PersistAsync();
            }
            foreach (var (run, scenario) in cleared)
            {
                await DeliverAsync(run, scenario);
            }
        }

        // A run that joined a group with its command and no longer stands at that send (the friend blocked meanwhile).
        LeaveEarlyGroups();
        await PersistAsync();
        if (passes < 100 && NextDueAt() is { } next && next <= Now)
        {
            // Came due while the outcome was being stored (a throttled retry a few milliseconds on): nobody else runs
            // it. A chain of instant steps cut at 100 passes is left to the reminder rather than resumed at once.
            WakeUpAt(next);
        }

        LeaveMemoryIfIdle(woken);
    }

    /// <summary>
    /// A friend with nothing due for a while leaves memory rather than stay for the collection age: a campaign enrolling
    /// a million friends would otherwise hold every one of them (~10 kB each) for minutes. Its reminder and stored state
    /// bring it back. With nothing due at all, a friend stays after a command (a friend who just wrote may write again)
    /// but leaves after a run the clock started: a cohort of a million reaching its last step together held every one
    /// of them for the collection age, 7.8 GB at its peak. After such a run it leaves <see cref="EngineOptions.LeaveAfterWokenRun"/>
    /// later, unless a command comes first (benchmarks/history.md, session 23). While the silo is short of memory
    /// (<see cref="MemoryPressure"/>), every friend not due within a retry period leaves at once, whatever started it.
    /// </summary>
    private void LeaveMemoryIfIdle(bool woken = false)
    {
        var shortOfMemory = _memory.IsShort;
        if (!IsIdle(woken, shortOfMemory))
        {
            return;
        }

        if (!woken || _options.LeaveAfterWokenRun <= TimeSpan.Zero || shortOfMemory)
        {
            DeactivateOnIdle();
            return;
        }

        // Not at once: a deactivation allocates ~2.5 kB, a third of what the run itself did, and the friends a burst woke
        // would pay for theirs inside it, beside the friends still sending (more collections, ~13 % fewer recipients/s).
        _leaveTimer ??= this.RegisterGrainTimer(static (self, _) =>
        {
            self._leaveTimer?.Dispose();
            self._leaveTimer = null;
            if (self.IsIdle(woken: true, self._memory.IsShort))
            {
                self.DeactivateOnIdle();
            }

            return Task.CompletedTask;
        }, this, new GrainTimerCreationOptions(_options.LeaveAfterWokenRun, Timeout.InfiniteTimeSpan));
    }

    /// <summary>
    /// Nothing left for this activation to do soon. Short of memory (<see cref="MemoryPressure"/>), that is anything but a
    /// step its own timer must wake within a retry period: a reminder or wake slot brings the friend back for the rest.
    /// </summary>
    private bool IsIdle(bool woken, bool shortOfMemory)
    {
        if (_pendingReplies.Count > 0)
        {
            return false;
        }

        return NextDueAt() is not { } next
            ? woken || shortOfMemory || Friend.Status == FriendStatus.Blocked
            : next - Now > (shortOfMemory ? _options.ReminderRetryPeriod : _options.DeactivateWhenIdleFor);
    }

    /// <summary>A command came: the friend stays, or leaves, by the command's rule.</summary>
    private void StayAfterCommand()
    {
        _leaveTimer?.Dispose();
        _leaveTimer = null;
    }

    /// <summary>Advances every due run through its instant steps; returns the runs that stand at a send.</summary>
    private async ValueTask<List<(Enrollment Run, ScenarioDefinition Scenario)>> AdvanceDueRunsAsync(DateTimeOffset now)
    {
        var atSend = new List<(Enrollment, ScenarioDefinition)>();
        if (Friend.Status == FriendStatus.Blocked)
        {
            return atSend;
        }

        var scenarios = await catalog.GetCatalogAsync(_key.ChannelId);
        foreach (var run in DueRuns(now))
        {
            var summary = scenarios.Find(run.ScenarioId);
            if (summary?.Status == ScenarioStatus.Paused)
            {
                run.DueAt = now + _options.PausedRecheckInterval;
                _interpreter.Record(run, HistoryKind.Held, run.StepId, "scenario paused", at: now);
                continue;
            }

            if (summary is null || summary.Status == ScenarioStatus.Archived || await DefinitionOfAsync(run) is not { } scenario)
            {
                _interpreter.Finish(run, HistoryKind.Ended, "scenario archived or removed");
                continue;
            }

            if (_interpreter.Advance(run, scenario, now) == RunPosition.AtSend)
            {
                atSend.Add((run, scenario));
            }
        }

        if (_interpreter.TakeTagsAdded() is { Count: > 0 } tagsAdded)
        {
            await EnterForTagsAsync(tagsAdded, now);
        }

        return atSend;
    }

    /// <summary>
    /// The runs due by now, earliest first (in enrollment order when due together), as a list of their own: running
    /// one may end or add runs. A loop, not LINQ: this is asked twice per woken friend, and the query and its sort
    /// allocated ~0.7 kB each time.
    /// </summary>
    private List<Enrollment> DueRuns(DateTimeOffset now)
    {
        var due = new List<Enrollment>();
        foreach (var run in Friend.Enrollments)
        {
            if (run.Suspended || run.DueAt > now)
            {
                continue;
            }

            // Insertion keeps equal due times in enrollment order; a friend has a few runs.
            var at = due.Count;
            while (at > 0 && due[at - 1].DueAt > run.DueAt)
            {
                at--;
            }

            due.Insert(at, run);
        }

        return due;
    }

    private async Task DeliverAsync(Enrollment run, ScenarioDefinition scenario)
    {
        var send = SendOf(run, scenario);
        var retryKey = run.PendingRetryKey!.Value;

        // Built only for a push: a multicast member's content is the batch's, rendered once for all of them.
        DeliveryRequest Push()
        {
            var values = PersonalisationValues();
            return new DeliveryRequest
            {
                ChannelId = _key.ChannelId,
                LineUserId = _key.LineUserId,
                RetryKey = retryKey,
                Messages = [.. clickTokens.Track(_key.ChannelId, _key.LineUserId, run.ScenarioId, run.Version, send,
                    [.. send.Messages.Select(m => MessagePersonalizer.Render(m, values))])],
                ScenarioId = run.ScenarioId,
                ScenarioVersion = run.Version,
                StepId = send.Id,
            };
        }

        DeliveryOutcome outcome;
        var budgetWithBatch = _budgetWithBatch.Remove(retryKey);
        var viaBatch = false;
        try
        {
            if (await DeliverCoalescedAsync(run, send, scenario.Priority) is { } coalesced)
            {
                outcome = coalesced;
                viaBatch = true;
            }
            else if (budgetWithBatch && !await ReserveAsync(run, scenario, send, Now))
            {
                // It left its budget to a batch and pushes alone after all (alone in its window, or its group was more
                // than the budget left): it asks for its own now, and was refused.
                return;
            }
            else
            {
                outcome = await delivery.DeliverAsync(Push(), CancellationToken.None);
            }
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Delivery of step {StepId} of {ScenarioId} to {FriendKey} threw", send.Id, run.ScenarioId, _key);
            outcome = new DeliveryOutcome(DeliveryStatus.RetryLater, exception.GetType().Name);
        }

        _metrics!.Sent(outcome.Status);
        var now = Now;
        run.SendAttempts++;
        switch (outcome.Status)
        {
            case DeliveryStatus.Delivered or DeliveryStatus.AlreadyDelivered:
                _interpreter.Record(run, HistoryKind.Sent, send.Id, outcome.Detail, retryKey, now);
                _interpreter.MovePastSend(run, scenario);
                RememberSend(now);
                SettleLater(retryKey, delivered: true, viaBatch, budgetWithBatch);
                break;
            case DeliveryStatus.Rejected:
                _interpreter.Record(run, HistoryKind.Failed, send.Id, outcome.Detail, retryKey, now);
                _interpreter.MovePastSend(run, scenario);
                SettleLater(retryKey, delivered: false, viaBatch, budgetWithBatch);
                break;
            case DeliveryStatus.QuotaExhausted:
                // LINE itself refused: the same path as a refusal by the plan's own count.
                var decision = await Quota.ReportExhaustedByLine(QuotaRequestFor(run, scenario));
                ApplyQuotaRefusal(run, scenario, send, decision, now);
                break;
            case DeliveryStatus.Throttled:
                // Nothing reached LINE: back in line within seconds, spread so the burst drains at the limit's pace.
                run.DueAt = now + _options.ThrottledRetryDelay * Random.Shared.NextDouble();
                _throttledRetryAt = _throttledRetryAt is { } earlier && earlier < run.DueAt ? earlier : run.DueAt;
                break;
            default:
                // Transient: keep the retry key so the next attempt cannot deliver twice.
                run.DueAt = now + _options.SendRetryDelay;
                _interpreter.Record(run, HistoryKind.RetryScheduled, send.Id, $"{outcome.Status}: {outcome.Detail}", retryKey, now);
                break;
        }
    }

    /// <summary>
    /// Sends a non-personalised step as part of a multicast with the other friends due for it at the same moment.
    /// Null means "push it alone": coalescing is off, the content is personal, the friend was alone in its window,
    /// the batch was sealed without it, or it was pushed alone before. The batch id is persisted before the friend
    /// confirms to the batch, so after a crash the friend goes back to the same batch, whose retry key makes the repeat
    /// harmless; likewise the choice to push alone is persisted before the push, so a push whose answer was lost is
    /// retried as the same push, never as part of a multicast that LINE would deliver again. Where no state outlives a
    /// crash (embedded), neither is written before: <see cref="EngineOptions.StoreRouteBeforeSending"/>.
    /// </summary>
    private async Task<DeliveryOutcome?> DeliverCoalescedAsync(Enrollment run, SendStep send, SendPriority priority)
    {
        if (_joinedEarly.Remove(run.PendingRetryKey!.Value, out var early))
        {
            Guid? sealedAs;
            try
            {
                sealedAs = await early.Sealed;
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Could not form a multicast batch for step {StepId} of {ScenarioId}; pushing", send.Id, run.ScenarioId);
                sealedAs = null;
            }

            if (sealedAs != run.PendingBatchId)
            {
                // Alone in its window, or no batch was formed: the stored id names a batch that does not exist.
                run.PendingBatchId = null;
                return await PushAloneAsync(run);
            }
        }
        else if (run.PendingBatchId is null)
        {
            if (!ChoosesRoute(run, send))
            {
                return null;
            }

            Guid? batchId;
            try
            {
                batchId = await coalescer.EnlistAsync(_key.ChannelId, _key.LineUserId, run.ScenarioId, run.Version, send.Id, send.Messages, priority);
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Could not form a multicast batch for step {StepId} of {ScenarioId}; pushing", send.Id, run.ScenarioId);
                return await PushAloneAsync(run);
            }

            if (batchId is null)
            {
                return await PushAloneAsync(run);
            }

            run.PendingBatchId = batchId;
            if (_options.StoreRouteBeforeSending)
            {
                try
                {
                    await PersistAsync();
                }
                catch
                {
                    // Not confirmed to the batch, so it will not send to this friend: the next attempt starts afresh.
                    run.PendingBatchId = null;
                    throw;
                }
            }
        }

        var outcome = await GrainFactory.GetGrainInSilo<IMulticastBatchGrain>(run.PendingBatchId!.Value).Deliver(_key.LineUserId);
        if (outcome.Status == DeliveryStatus.NotInBatch)
        {
            run.PendingBatchId = null;
            return await PushAloneAsync(run);
        }

        return outcome with { Detail = outcome.Detail is null ? $"multicast batch {run.PendingBatchId}" : $"multicast batch {run.PendingBatchId}: {outcome.Detail}" };
    }

    /// <summary>
    /// True for a send not yet committed to a route that could go by multicast: <see cref="DeliverCoalescedAsync"/>
    /// stores its batch or its push-alone choice (and with it the retry key) before anything reaches LINE.
    /// </summary>
    private bool ChoosesRoute(Enrollment run, SendStep send) =>
        run.PendingBatchId is null && !run.PushedAlone
        && coalescer.Enabled && !send.TrackClicks && !send.Messages.Any(MessagePersonalizer.IsPersonalized);

    private bool StoresRouteBeforeSending(Enrollment run, ScenarioDefinition scenario) =>
        ChoosesRoute(run, SendOf(run, scenario));

    /// <summary>Stores that this send goes as a push of its own, then tells the caller to push.</summary>
    private async Task<DeliveryOutcome?> PushAloneAsync(Enrollment run)
    {
        run.PushedAlone = true;
        if (_options.StoreRouteBeforeSending)
        {
            await PersistAsync();
        }

        return null;
    }

    private IPlanQuotaGrain Quota => GrainFactory.GetGrainInSilo<IPlanQuotaGrain>(_key.ChannelId);

    /// <summary>
    /// Before any LINE call: a send the channel's frequency caps do not allow yet is deferred to the next allowed
    /// time; the others reserve the month's budget, and a refusal holds or skips the send by the channel's policy.
    /// Returns the sends cleared to go. Caps apply only to a send never attempted, so a retry is never deferred.
    /// </summary>
    private async ValueTask<List<(Enrollment Run, ScenarioDefinition Scenario)>> ClearForSendingAsync(
        List<(Enrollment Run, ScenarioDefinition Scenario)> atSend, DateTimeOffset now)
    {
        var cleared = new List<(Enrollment, ScenarioDefinition)>(atSend.Count);
        var caps = (await catalog.GetCatalogAsync(_key.ChannelId)).FrequencyCaps;
        var sendsThisPass = new List<DateTimeOffset>();
        foreach (var (run, scenario) in atSend)
        {
            if (_joinedEarly.ContainsKey(run.PendingRetryKey!.Value))
            {
                // Cleared when it joined its group, with the command that made it due.
                sendsThisPass.Add(now);
                cleared.Add((run, scenario));
                continue;
            }

            var send = SendOf(run, scenario);
            if (run.SendAttempts == 0 && !scenario.IgnoreFrequencyCap && !caps.IsDefaultOrEmpty)
            {
                var sentSoFar = Friend.RecentSends.Concat(sendsThisPass).ToList();
                var allowedAt = FrequencyCap.NextAllowed(caps, sentSoFar, now);
                if (allowedAt > now)
                {
                    // A reservation made for it (a woken held send) goes back until then.
                    Quota.Release(run.PendingRetryKey!.Value).Ignore();
                    run.DueAt = allowedAt;
                    _interpreter.Record(run, HistoryKind.Deferred, send.Id, $"frequency cap: next allowed at {allowedAt:O}", run.PendingRetryKey, now);
                    continue;
                }
            }

            if (run.HeldSince is null && (run.PendingBatchId is not null || ChoosesRoute(run, send)))
            {
                // Its batch reserves for every member at once; should it push alone, it reserves then.
                _budgetWithBatch.Add(run.PendingRetryKey!.Value);
                sendsThisPass.Add(now);
                cleared.Add((run, scenario));
                continue;
            }

            if (!await ReserveAsync(run, scenario, send, now))
            {
                continue;
            }

            // Counted now, so a second run due in the same pass sees the first send against the caps.
            sendsThisPass.Add(now);
            cleared.Add((run, scenario));
        }

        return cleared;
    }

    /// <summary>
    /// Reserves the send's budget; when refused or unavailable, records why and reschedules the run, and answers false.
    /// </summary>
    private async Task<bool> ReserveAsync(Enrollment run, ScenarioDefinition scenario, SendStep send, DateTimeOffset now)
    {
        QuotaDecision decision;
        try
        {
            decision = await Quota.Reserve(QuotaRequestFor(run, scenario));
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Quota reservation for step {StepId} of {ScenarioId} failed", send.Id, run.ScenarioId);
            run.DueAt = now + _options.SendRetryDelay;
            _interpreter.Record(run, HistoryKind.RetryScheduled, send.Id, $"quota unavailable: {exception.GetType().Name}", run.PendingRetryKey, now);
            return false;
        }

        if (!decision.Granted)
        {
            ApplyQuotaRefusal(run, scenario, send, decision, now);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Queues the commit or release of a send's own reservation, sent once its outcome is stored. A send whose batch
    /// held its budget has none; a send that reserved for itself (a held send, woken with its reservation) and went in
    /// a batch anyway gives it back, since the batch counts it.
    /// </summary>
    private void SettleLater(Guid retryKey, bool delivered, bool viaBatch, bool budgetWithBatch)
    {
        if (viaBatch && budgetWithBatch)
        {
            return;
        }

        _quotaSettlements.Add((retryKey, delivered && !viaBatch));
    }

    private QuotaRequest QuotaRequestFor(Enrollment run, ScenarioDefinition scenario) => new()
    {
        RetryKey = run.PendingRetryKey!.Value,
        Recipients = 1,
        Priority = scenario.Priority,
        DueAt = run.HeldSince ?? run.DueAt,
        FriendKey = _key.ToString(),
    };

    private void ApplyQuotaRefusal(Enrollment run, ScenarioDefinition scenario, SendStep send, QuotaDecision decision, DateTimeOffset now)
    {
        if (decision.Policy == QuotaExhaustedPolicy.Skip)
        {
            _interpreter.Record(run, HistoryKind.Skipped, send.Id, $"quota: {decision.Reason}", run.PendingRetryKey, now);
            _interpreter.MovePastSend(run, scenario);
            return;
        }

        if (run.HeldSince is null)
        {
            run.HeldSince = run.DueAt;
            _interpreter.Record(run, HistoryKind.Held, send.Id, $"quota: {decision.Reason}; waiting for budget", run.PendingRetryKey, now);
        }

        run.DueAt = decision.RecheckAt ?? now + _options.PausedRecheckInterval;
    }

    /// <summary>True when a send under this key reached an outcome whose commit or release this friend sends itself.</summary>
    private bool SettledHere(Guid retryKey) =>
        Friend.History.Any(h => h.RetryKey == retryKey && h.Kind is HistoryKind.Sent or HistoryKind.Failed);

    private void RememberSend(DateTimeOffset at)
    {
        Friend.RecentSends.Add(at);
        if (Friend.RecentSends.Count > RecentSendLimit)
        {
            Friend.RecentSends.RemoveRange(0, Friend.RecentSends.Count - RecentSendLimit);
        }
    }

    private void SettleQuota()
    {
        foreach (var (retryKey, commit) in _quotaSettlements)
        {
            (commit ? Quota.Commit(retryKey) : Quota.Release(retryKey)).Ignore();
        }

        _quotaSettlements.Clear();
    }

    private async Task SendPendingRepliesAsync()
    {
        while (_pendingReplies.TryDequeue(out var pending))
        {
            var keyword = pending.Rule.Keywords[0];
            var values = PersonalisationValues();
            var request = new ReplyRequest
            {
                ChannelId = _key.ChannelId,
                LineUserId = _key.LineUserId,
                ReplyToken = pending.ReplyToken,
                Messages = [.. pending.Rule.Messages.Select(m => MessagePersonalizer.Render(m, values))],
                Keyword = keyword,
            };

            DeliveryOutcome outcome;
            try
            {
                outcome = await delivery.ReplyAsync(request, CancellationToken.None);
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Auto-reply '{Keyword}' to {FriendKey} threw", keyword, _key);
                outcome = new DeliveryOutcome(DeliveryStatus.Rejected, exception.GetType().Name);
            }

            if (outcome.IsDelivered)
            {
                AddHistory(HistoryKind.Replied, Now, null, keyword);
            }
            else
            {
                AddHistory(HistoryKind.Failed, Now, null, $"auto-reply '{keyword}': {outcome.Detail}");
            }
        }
    }

    private async Task<ImmutableArray<string>> EnterTriggeredAsync(Func<ScenarioTrigger, bool> matches, DateTimeOffset at, string source)
    {
        var entered = ImmutableArray.CreateBuilder<string>();
        foreach (var summary in (await catalog.GetCatalogAsync(_key.ChannelId)).Scenarios)
        {
            if (summary.AdmitsNewEntries && summary.Triggers.Any(matches)
                && (await TryEnterAsync(summary, at, source, ignoreReentry: false)).Outcome == EnrollOutcome.Enrolled)
            {
                entered.Add(summary.ScenarioId);
            }
        }

        return entered.ToImmutable();
    }

    private async Task<ImmutableArray<string>> EnterForTagsAsync(IReadOnlyList<string> tagsAdded, DateTimeOffset at)
    {
        var entered = ImmutableArray<string>.Empty;
        foreach (var tag in tagsAdded)
        {
            entered = entered.AddRange(await EnterTriggeredAsync(t => t is TagAddedTrigger trigger && trigger.Tag == tag, at, $"tag:{tag}"));
        }

        return entered;
    }

    /// <summary>
    /// An unblock: suspended runs follow their scenario's unblock policy, and friend-add scenarios the friend is
    /// not running start again when their policy is to restart (LINE's own behaviour).
    /// </summary>
    private async Task<ImmutableArray<string>> UnblockAsync(DateTimeOffset at)
    {
        AddHistory(HistoryKind.Unblocked, at, null, null);
        var entered = ImmutableArray.CreateBuilder<string>();
        var scenarios = await catalog.GetCatalogAsync(_key.ChannelId);
        foreach (var run in Friend.Enrollments.Where(r => r.Suspended).ToList())
        {
            var policy = (await DefinitionOfAsync(run))?.OnUnblock ?? UnblockPolicy.Ignore;
            switch (policy)
            {
                case UnblockPolicy.Resume:
                    run.Suspended = false;
                    break;
                case UnblockPolicy.Restart:
                    _interpreter.Finish(run, HistoryKind.Restarted, "unblocked");
                    if (scenarios.Find(run.ScenarioId) is { AdmitsNewEntries: true } summary
                        && (await TryEnterAsync(summary, at, "unblock", ignoreReentry: true)).Outcome == EnrollOutcome.Enrolled)
                    {
                        entered.Add(run.ScenarioId);
                    }

                    break;
                default:
                    _interpreter.Finish(run, HistoryKind.Ended, "blocked; the scenario ignores unblocks");
                    break;
            }
        }

        foreach (var summary in scenarios.Scenarios)
        {
            if (summary.AdmitsNewEntries && summary.OnUnblock == UnblockPolicy.Restart
                && summary.Triggers.Any(t => t is FollowTrigger)
                && !Friend.Enrollments.Any(r => r.ScenarioId == summary.ScenarioId)
                && (await TryEnterAsync(summary, at, "unblock", ignoreReentry: true)).Outcome == EnrollOutcome.Enrolled)
            {
                entered.Add(summary.ScenarioId);
            }
        }

        return entered.ToImmutable();
    }

    private async Task<EnrollResult> TryEnterAsync(ScenarioSummary summary, DateTimeOffset at, string source, bool ignoreReentry)
    {
        if (!summary.AdmitsNewEntries)
        {
            return new EnrollResult(EnrollOutcome.ScenarioNotActive, $"scenario is {summary.Status.ToString().ToLowerInvariant()}");
        }

        if (Friend.Status == FriendStatus.Blocked)
        {
            return new EnrollResult(EnrollOutcome.Blocked);
        }

        if (summary.Validity is { } validity && !validity.Contains(at))
        {
            return new EnrollResult(EnrollOutcome.OutsideValidity);
        }

        var running = Friend.Enrollments.FirstOrDefault(r => r.ScenarioId == summary.ScenarioId);
        if (running is not null)
        {
            if (summary.Reentry != ReentryPolicy.Always && !ignoreReentry)
            {
                return new EnrollResult(EnrollOutcome.AlreadyEnrolled);
            }

            _interpreter.Finish(running, HistoryKind.Restarted, source);
        }
        else if (!ignoreReentry && summary.Reentry == ReentryPolicy.Never && Friend.Participations.ContainsKey(summary.ScenarioId))
        {
            return new EnrollResult(EnrollOutcome.NotEligible, "the scenario admits a friend once");
        }

        var scenario = await catalog.GetVersionAsync(_key.ChannelId, summary.ScenarioId, summary.CurrentVersion);
        if (scenario is null || scenario.Steps.IsEmpty)
        {
            return new EnrollResult(EnrollOutcome.ScenarioNotActive, "published version not found");
        }

        var run = new Enrollment
        {
            Number = ++Friend.EnrollmentsStarted,
            ScenarioId = summary.ScenarioId,
            Version = summary.CurrentVersion,
            StepId = scenario.Steps[0].Id,
            DueAt = at,
            EnteredAt = at,
            Source = source,
        };
        Friend.Enrollments.Add(run);
        var participation = Friend.Participations.TryGetValue(summary.ScenarioId, out var existing) ? existing : new Participation();
        participation.Entered++;
        participation.LastEnteredAt = at;
        Friend.Participations[summary.ScenarioId] = participation;
        _interpreter.Record(run, HistoryKind.Entered, null, source);
        return new EnrollResult(EnrollOutcome.Enrolled);
    }

    private ValueTask<ScenarioDefinition?> DefinitionOfAsync(Enrollment run) =>
        catalog.GetVersionAsync(_key.ChannelId, run.ScenarioId, run.Version);

    /// <summary>
    /// Writes the state, keeping a reminder no later than the earliest due step. A reminder that must move
    /// earlier is registered before the write (a crash in between only causes an early, harmless tick); one that
    /// moves later or goes away is changed after the write (a crash in between leaves the old, earlier tick).
    /// <paramref name="listing"/>, the friend's addition to its directory bucket on its first command, must also be
    /// stored before the write.
    /// </summary>
    private async Task PersistAsync(Task? listing = null)
    {
        var due = NextDueAt();
        var slot = WakeSlotFor(due);
        var safetyNet = slot is { } wakeSlot
            ? Friend.WakeSlot == wakeSlot ? Task.CompletedTask : WakeSlots.Slot(GrainFactory, _key, wakeSlot).Add(_key.LineUserId)
            : due is { } earlier && NeedsReminder(earlier) && (_reminderDueAt is null || ReminderTimeFor(earlier) < _reminderDueAt)
                ? SetReminderAsync(earlier)
                : Task.CompletedTask;
        try
        {
            // Side by side, not one after the other: on PostgreSQL each is a commit that the acknowledgement waits for.
            // Mostly both are done already (nothing to list or arm), and then nothing is allocated to wait for them.
            if (!safetyNet.IsCompletedSuccessfully || listing is { IsCompletedSuccessfully: false })
            {
                await Task.WhenAll(safetyNet, listing ?? Task.CompletedTask);
            }
        }
        catch
        {
            // As for a failed write below: the command has changed this activation's state already.
            _failedWrite = true;
            DeactivateOnIdle();
            throw;
        }

        if (listing is not null)
        {
            Friend.InDirectory = true;
        }

        // A listing this write no longer needs is left in its slot: when it fires, this friend finds nothing to do.
        Friend.WakeSlot = slot;
        Friend.SafetyNetAt = _safetyNetInRow && slot is null && due is { } dueSoon && dueSoon - Now <= _options.ReminderRetryPeriod
            ? ReminderTimeFor(dueSoon)
            : null;

        try
        {
            await state.WriteStateAsync();
            RememberStoredRetryKeys();
            _stats.Persisted();
        }
        catch
        {
            // The command already changed this activation's state, including the event id that makes a repeat a
            // duplicate; kept, it would swallow the redelivery that LINE sends because the write failed. Let the
            // next call start from what storage really holds.
            _failedWrite = true;
            DeactivateOnIdle();
            throw;
        }

        // Only now: a commit sent before the outcome is stored could be followed by a retry counted again.
        SettleQuota();

        if (due is { } later && slot is null)
        {
            // Moved later (or away from a step already run): follow it. A step due now keeps the safety net set above
            // rather than rewriting the reminder row on every write of the run.
            if (later > Now && NeedsReminder(later) && _reminderDueAt != ReminderTimeFor(later) && !SafetyNetCovers(later))
            {
                await SetReminderAsync(later);
            }
        }
        else
        {
            // Nothing due, or a wake slot covers it: the friend's own reminder goes.
            await ForgetReminderAsync();
        }

        ArmWakeUp(due);
    }

    private async Task ForgetReminderAsync()
    {
        if (_reminderKnownAbsent)
        {
            return;
        }

        if (_safetyNetRow is { } row)
        {
            // Stored straight in the table, never loaded by the reminder service: removed the same way. A row changed
            // since (the service stored a later reminder over it) answers false and is left to the service.
            _safetyNetRow = null;
            if (await reminderTable.RemoveRow(this.GetGrainId(), WakeUpReminder, row.ETag!))
            {
                _reminder = null;
                _reminderDueAt = null;
                _reminderKnownAbsent = true;
                return;
            }
        }

        _reminder ??= await this.GetReminder(WakeUpReminder);
        if (_reminder is not null)
        {
            await this.UnregisterReminder(_reminder);
        }

        _reminder = null;
        _reminderDueAt = null;
        _reminderKnownAbsent = true;
    }

    /// <summary>
    /// The wake slot that covers a step due at <paramref name="due"/>, or null when the friend's own reminder and timer
    /// do: a step further away than <see cref="EngineOptions.WakeSlotHorizon"/> (a retry period, while the silo is short
    /// of memory) goes to the slot of its minute (plus the friend's place in the wake spread), and a slot already listed
    /// in for it keeps covering it until it fires.
    /// </summary>
    private DateTimeOffset? WakeSlotFor(DateTimeOffset? due)
    {
        if (due is not { } at || _options.WakeSlotHorizon <= TimeSpan.Zero)
        {
            return null;
        }

        var slot = WakeSlots.SlotFor(at + WakeSpread.OffsetFor(_key.LineUserId, _options.WakeSpread / Math.Max(1, _options.WaitCompression)));
        var now = Now;
        // Short of memory, a step beyond the timer's reach waits in the slot too, up to a minute late, rather than on a
        // reminder that the reminder service would hold in memory until it fires.
        var horizon = _memory.IsShort && _options.ReminderRetryPeriod < _options.WakeSlotHorizon ? _options.ReminderRetryPeriod : _options.WakeSlotHorizon;
        return at - now > horizon || (Friend.WakeSlot == slot && slot > now) ? slot : null;
    }

    /// <summary>
    /// A step due within one reminder period is woken by this activation's own timer, and its reminder stays a period
    /// behind as the safety net for a crash. A reminder that close fired late or not at all under load: Orleans skips a
    /// first tick that passed before its timer started, to the next period, and a tick that finds the friend busy
    /// expires the same way; in a 100,000-friend burst with the rate limiter on, that was a one-minute tail. A step due
    /// now needs neither: whoever made it due runs it.
    /// </summary>
    private void ArmWakeUp(DateTimeOffset? due)
    {
        // A step a wake slot covers needs no timer beyond a retry period (listed there while short of memory, the friend
        // is about to leave, and the timer with it).
        if (due is not { } at || at - Now > (Friend.WakeSlot is null ? TimerHorizon : _options.ReminderRetryPeriod))
        {
            _wakeTimer?.Dispose();
            (_wakeTimer, _wakeAt) = (null, null);
            return;
        }

        if (at <= Now && (_wakeTimer is null || _wakeIsFallback))
        {
            // Due now with no wake-up pending: whoever made it due runs it (the run in progress, or a command's
            // background run). A pending wake-up is kept, re-armed for now: this write may not be a run's. Without a
            // reminder behind it, a wake-up a retry period on stands in for one, should that run fail.
            if (!_options.DurableSafetyNet && _wakeTimer is null)
            {
                WakeUpAt(Now + _options.ReminderRetryPeriod);
                _wakeIsFallback = true;
            }

            return;
        }

        WakeUpAt(at);
    }

    private void WakeUpAt(DateTimeOffset at)
    {
        if (_wakeAt == at)
        {
            return;
        }

        _wakeTimer?.Dispose();
        _wakeAt = at;
        _wakeIsFallback = false;
        var delay = at - Now;
        if (delay > _options.ReminderRetryPeriod)
        {
            // Past the collection age, the runtime would take the activation, and its timer, before the step.
            DelayDeactivation(delay);
        }

        _wakeTimer = this.RegisterGrainTimer(
            static (self, _) => self.WakeUpAsync(), this,
            new GrainTimerCreationOptions(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    private Task WakeUpAsync()
    {
        _wakeTimer?.Dispose();
        (_wakeTimer, _wakeAt) = (null, null);
        if (NextDueAt() is { } due && due <= Now)
        {
            return RunDueStepsAsync(woken: true);
        }

        // Woken a moment early (a timer may fire a fraction of a millisecond before its time), or the step moved.
        // Not through ArmWakeUp: by the time it reads the clock the step may be due, and with no timer pending it
        // would leave the step to a run nobody is making (one friend in 80 of a throttled burst waited a minute so).
        if (NextDueAt() is { } next && next - Now <= TimerHorizon)
        {
            WakeUpAt(next);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// When the reminder for a step due at <paramref name="dueAt"/> fires: then, plus this friend's place in the wake
    /// spread; or, for a step due now or within one retry period, a period after it. This activation runs a step due
    /// now straight away and wakes itself for one due soon (<see cref="ArmWakeUp"/>), so that reminder is only the
    /// safety net for a crash before then, and need not fire at once and race the run.
    /// </summary>
    private DateTimeOffset ReminderTimeFor(DateTimeOffset dueAt)
    {
        var now = Now;
        return dueAt - now > _options.ReminderRetryPeriod
            ? dueAt + WakeSpread.OffsetFor(_key.LineUserId, _options.WakeSpread / Math.Max(1, _options.WaitCompression))
            : (dueAt > now ? dueAt : now) + _options.ReminderRetryPeriod;
    }

    /// <summary>
    /// False for a step due within a retry period that needs no reminder behind it: where reminders could not outlive
    /// a crash anyway (<see cref="EngineOptions.DurableSafetyNet"/> off), or where the write that made it due carries
    /// its safety net in the row (<see cref="PersistAsync"/>).
    /// </summary>
    private bool NeedsReminder(DateTimeOffset dueAt) =>
        (_options.DurableSafetyNet && !_safetyNetInRow) || dueAt - Now > TimerHorizon;

    /// <summary>
    /// How far ahead this activation's own timer wakes a step rather than a reminder: one retry period where reminders
    /// outlive a crash, with a reminder a period behind as the safety net (<see cref="ArmWakeUp"/>). Where they do not
    /// (<see cref="EngineOptions.DurableSafetyNet"/> off: the embedded topology), as far ahead as the friend stays in
    /// memory anyway (<see cref="EngineOptions.DeactivateWhenIdleFor"/>). There a reminder is only taken when the
    /// activation leaves first (<see cref="OnDeactivateAsync"/>): a cohort of 100,000 due in a few minutes went out at
    /// 17–22k recipients/s by its reminders' ticks against ~50k by timers (benchmarks/history.md, session 24).
    /// </summary>
    private TimeSpan TimerHorizon => _options.DurableSafetyNet || _options.DeactivateWhenIdleFor < _options.ReminderRetryPeriod
        ? _options.ReminderRetryPeriod
        : _options.DeactivateWhenIdleFor;

    /// <summary>
    /// True when the step is due within one reminder period, so this activation's timer wakes it, and the reminder
    /// already set fires after it: moving that safety net on each throttled retry (every few seconds of a burst) was a
    /// reminder write per retry.
    /// </summary>
    private bool SafetyNetCovers(DateTimeOffset dueAt) =>
        dueAt - Now <= _options.ReminderRetryPeriod && _reminderDueAt is { } fires && fires > dueAt;

    private async Task SetReminderAsync(DateTimeOffset dueAt)
    {
        var now = Now;
        var fireAt = ReminderTimeFor(dueAt);
        if (dueAt - now <= _options.ReminderRetryPeriod && _reminderKnownAbsent)
        {
            await StoreSafetyNetRowAsync(fireAt);
            return;
        }

        _safetyNetRow = null;
        _reminder = await this.RegisterOrUpdateReminder(WakeUpReminder, fireAt - now, _options.ReminderRetryPeriod);
        _reminderDueAt = fireAt;
        _reminderKnownAbsent = false;
        if (fireAt <= Now)
        {
            // Due while the reminder was being stored (a throttled send's retry a few milliseconds on): Orleans skips
            // a first tick already past to the next period, a minute later, so the step is run from here instead.
            this.AsReference<IFriendGrain>().RunDueStepsInBackground().Ignore();
        }
    }

    /// <summary>
    /// The reminder behind a step this activation runs now or wakes itself for: only needed if the silo dies first, so
    /// it is stored straight in the reminder table rather than registered with the reminder service, which would load
    /// it into memory with a timer of its own (about 7 kB and two calls to the service per welcome, set and removed
    /// within milliseconds). The service reads rows like it when a silo starts or takes over a dead one's range, and
    /// fires it then; a silo that lives removes it (<see cref="ForgetReminderAsync"/>) before the service's periodic
    /// read is likely to see it, and one that sees it fires it once to a friend with nothing due.
    /// </summary>
    private async Task StoreSafetyNetRowAsync(DateTimeOffset fireAt)
    {
        var row = new ReminderEntry
        {
            GrainId = this.GetGrainId(),
            ReminderName = WakeUpReminder,
            StartAt = fireAt.UtcDateTime,
            Period = _options.ReminderRetryPeriod,
        };
        row.ETag = await reminderTable.UpsertRow(row)
            ?? throw new InvalidOperationException($"The reminder table did not store the safety net of {_key}.");
        _safetyNetRow = row;
        _reminderDueAt = fireAt;
        _reminderKnownAbsent = false;
    }

    /// <summary>On every write: refilled in place rather than built anew (allocation per write is GC time in a burst).</summary>
    private void RememberStoredRetryKeys()
    {
        _storedRetryKeys.Clear();
        foreach (var run in Friend.Enrollments)
        {
            if (run.PendingRetryKey is { } retryKey)
            {
                _storedRetryKeys.Add(retryKey);
            }
        }
    }

    private DateTimeOffset? NextDueAt()
    {
        DateTimeOffset? next = null;
        foreach (var run in Friend.Enrollments)
        {
            if (!run.Suspended && (next is null || run.DueAt < next))
            {
                next = run.DueAt;
            }
        }

        return Friend.Status == FriendStatus.Blocked ? null : next;
    }

    private bool MarkEventSeen(string? eventId)
    {
        if (eventId is null)
        {
            return true;
        }

        if (Friend.RecentEventIds.Contains(eventId))
        {
            return false;
        }

        Friend.RecentEventIds.Add(eventId);
        if (Friend.RecentEventIds.Count > RecentEventIdLimit)
        {
            Friend.RecentEventIds.RemoveAt(0);
        }

        return true;
    }

    private Dictionary<string, string> PersonalisationValues()
    {
        var values = new Dictionary<string, string>(Friend.Attributes, StringComparer.OrdinalIgnoreCase);
        values["displayName"] = Friend.DisplayName ?? "";
        return values;
    }

    private void AddHistory(HistoryKind kind, DateTimeOffset at, string? scenarioId, string? detail) =>
        ScenarioInterpreter.AddHistory(Friend, _options, new HistoryEntry { At = at, Kind = kind, ScenarioId = scenarioId, Detail = detail });

    private static bool KeywordMatches(KeywordTrigger trigger, string text) =>
        KeywordMatching.FirstMatch(trigger.Keywords, trigger.Match, text) is not null;

    /// <summary>An auto-reply to send in the background run that follows the command.</summary>
    private sealed record PendingReply(string ReplyToken, AutoReplyRule Rule);
}
