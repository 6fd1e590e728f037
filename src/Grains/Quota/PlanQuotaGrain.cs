using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Serialization;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Diagnostics;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Line;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Quota;

/// <summary>[Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class PlanQuotaState
{
    [Id(0)] public QuotaSettings Settings { get; set; } = new();
    [Id(1)] public string Month { get; set; } = "";
    [Id(2)] public long CommittedByStepcast { get; set; }
    [Id(3)] public long? ReportedByLine { get; set; }
    [Id(4)] public DateTimeOffset? ReconciledAt { get; set; }
    /// <summary>LINE's own monthly limit, when it reported one.</summary>
    [Id(5)] public long? LimitAtLine { get; set; }
    [Id(6)] public bool ExhaustedAtLine { get; set; }
    /// <summary>Sends in flight, by retry key.</summary>
    [Id(7)] public Dictionary<Guid, QuotaReservation> Reservations { get; set; } = [];
    /// <summary>The latest alerts, newest last.</summary>
    [Id(8)] public List<QuotaAlert> Alerts { get; set; } = [];
}

[GenerateSerializer]
public sealed class QuotaReservation
{
    [Id(0)] public int Recipients { get; set; }
    [Id(1)] public DateTimeOffset ReservedAt { get; set; }
}

/// <summary>
/// Counts a channel's pushed messages per plan month and hands out budget before each LINE call. Reentrant so one
/// storage write covers every reservation that arrived while the previous write ran (group commit): a grant is
/// answered only once the reservation is durable, so a restart never forgets budget already promised. Commits and
/// releases need no write of their own: a lost one leaves a reservation behind, which times out into "used" —
/// an over-count that never overspends and that reconciliation with LINE's consumption corrects.
/// Sends held under the pause policy wait here in memory, ordered by priority then due time, and are woken in that
/// order when budget returns; each also asks again on its own later, in case this list is lost.
/// </summary>
[Reentrant]
public sealed partial class PlanQuotaGrain(
    [PersistentState("quota")] IPersistentState<PlanQuotaState> state,
    ChannelSettingsCache channels,
    ILineMessagingClient line,
    TimeProvider timeProvider,
    DeepCopier<PlanQuotaState> copier,
    StepcastMetrics metrics,
    IOptions<QuotaOptions> options,
    ILogger<PlanQuotaGrain> logger) : Grain, IPlanQuotaGrain
{
    private const int AlertHistoryLimit = 50;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);

    private readonly QuotaOptions _options = options.Value;
    private readonly SortedSet<HeldSend> _held = new(HeldSend.Precedence);
    private readonly Dictionary<Guid, HeldSend> _heldByKey = [];
    private long _heldSequence;
    private long _changes;
    private long _durableChanges;
    private Task? _writing;
    private Task? _waking;
    private IGrainTimer? _monthEndTimer;
    /// <summary>The recipients of <see cref="PlanQuotaState.Reservations"/>, kept so a reservation does not sum thousands in flight.</summary>
    private long _reserved;
    private DateTimeOffset _nextExpiryScan;

    /// <summary>
    /// The live state, changed by interleaved requests. Storage is handed a copy (see <see cref="WriteAsync"/>): the
    /// ADO.NET provider serialises after an await, on a pool thread, while the next request here may be changing it.
    /// </summary>
    private PlanQuotaState Quota { get; set; } = null!;
    private string ChannelId => this.GetPrimaryKeyString();
    private DateTimeOffset Now => timeProvider.GetUtcNow();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Quota = state.State;
        _reserved = Quota.Reservations.Values.Sum(r => (long)r.Recipients);
        this.RegisterGrainTimer(
            ReconcileQuietlyAsync,
            new GrainTimerCreationOptions(TimeSpan.FromSeconds(5), _options.ReconcileInterval) { Interleave = true });
        // Commits, releases and unlimited channels' reservations are stored by the next write; this bounds how late.
        this.RegisterGrainTimer(
            PersistIfChangedAsync,
            new GrainTimerCreationOptions(FlushInterval, FlushInterval) { Interleave = true });
        return Task.CompletedTask;
    }

    /// <summary>Commits and releases not yet stored go with a graceful deactivation; after a crash they time out into "used".</summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            await PersistIfChangedAsync();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogFinalWriteFailed(logger, exception, ChannelId);
        }
    }

    async Task IPlanQuotaGrain.Configure(QuotaSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _ = TimeZones.Get(settings.TimeZone);
        RollMonth();
        Quota.Settings = settings;
        Changed();
        await PersistAsync();
        LogConfigured(logger, ChannelId, settings.Plan, settings.MonthlyLimit, settings.WhenExhausted);
        CheckAlerts();
        StartWakingHeld();
    }

    Task<QuotaSettings> IPlanQuotaGrain.GetSettings() => Task.FromResult(Quota.Settings);

    async Task<QuotaDecision> IPlanQuotaGrain.Reserve(QuotaRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RollMonth();
        if (Quota.Reservations.TryGetValue(request.RetryKey, out var existing))
        {
            // A retry of a send already counted: refresh it so it does not time out into "used" while retries go on.
            existing.ReservedAt = Now;
            if (IsLimited)
            {
                await PersistAsync();
            }

            return QuotaDecision.Grant;
        }

        if (request.Recipients <= 0)
        {
            return QuotaDecision.Grant;
        }

        var denial = Quota.ExhaustedAtLine
            ? "LINE reported the monthly limit reached"
            : Remaining < request.Recipients
                ? $"monthly budget spent ({Used} used, {_reserved} in flight, limit {Limit})"
                : HeldAhead(request) ? "sends held earlier or with a higher priority go first" : null;
        if (denial is null)
        {
            if (_heldByKey.Remove(request.RetryKey, out var wasHeld))
            {
                _held.Remove(wasHeld);
            }

            AddReservation(request.RetryKey, request.Recipients);
            Changed();
            if (IsLimited)
            {
                // Durable before granted: a restart must not forget budget already promised.
                await PersistAsync();
            }

            return QuotaDecision.Grant;
        }

        return Deny(request, denial);
    }

    private QuotaDecision Deny(QuotaRequest request, string reason)
    {
        var policy = Quota.Settings.WhenExhausted;
        if (policy == QuotaExhaustedPolicy.Pause && request.FriendKey is not null)
        {
            Hold(request);
        }

        return new QuotaDecision { Granted = false, Policy = policy, RecheckAt = RecheckAt(request.RetryKey), Reason = reason };
    }

    Task IPlanQuotaGrain.Commit(Guid retryKey)
    {
        RollMonth();
        if (RemoveReservation(retryKey) is { } reservation)
        {
            Quota.CommittedByStepcast += reservation.Recipients;
            Changed();
            CheckAlerts();
        }

        return Task.CompletedTask;
    }

    Task IPlanQuotaGrain.CommitRecipients(Guid retryKey, int recipients)
    {
        RollMonth();
        if (RemoveReservation(retryKey) is { } reservation)
        {
            Quota.CommittedByStepcast += Math.Clamp(recipients, 0, reservation.Recipients);
            Changed();
            CheckAlerts();
            if (recipients < reservation.Recipients)
            {
                StartWakingHeld();
            }
        }

        return Task.CompletedTask;
    }

    Task IPlanQuotaGrain.Release(Guid retryKey)
    {
        if (RemoveReservation(retryKey) is not null)
        {
            Changed();
            StartWakingHeld();
        }

        return Task.CompletedTask;
    }

    async Task<QuotaDecision> IPlanQuotaGrain.ReportExhaustedByLine(QuotaRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RollMonth();
        RemoveReservation(request.RetryKey);
        if (!Quota.ExhaustedAtLine)
        {
            Quota.ExhaustedAtLine = true;
            LogExhaustedAtLine(logger, ChannelId, Quota.Month);
            RaiseAlert(100);
        }

        Changed();
        await PersistAsync();
        return Deny(request, "LINE reported the monthly limit reached");
    }

    Task IPlanQuotaGrain.Reconcile() => ReconcileAsync();

    Task<QuotaStatus> IPlanQuotaGrain.GetStatus()
    {
        RollMonth();
        var month = CurrentMonth();
        return Task.FromResult(new QuotaStatus
        {
            ChannelId = ChannelId,
            Settings = Quota.Settings,
            Month = month.Key,
            MonthEndsAt = month.EndsAt,
            Limit = Limit,
            Used = Used,
            Reserved = _reserved,
            Remaining = Math.Max(0, Remaining),
            CommittedByStepcast = Quota.CommittedByStepcast,
            ReportedByLine = Quota.ReportedByLine,
            ReconciledAt = Quota.ReconciledAt,
            HeldSends = _held.Count,
            Alerts = [.. Quota.Alerts],
            ExhaustedAtLine = Quota.ExhaustedAtLine,
        });
    }

    /// <summary>
    /// False for a channel with no plan set and no limit reported by LINE: there is no budget to overspend, so its
    /// reservations (kept only for the count) are stored lazily and a push costs no storage write here.
    /// </summary>
    private bool IsLimited => Quota.Settings.Plan != LinePlan.Unlimited || Quota.LimitAtLine is not null || Quota.ExhaustedAtLine;

    /// <summary>The month's limit: the plan's, lowered to LINE's own when LINE reports a smaller one.</summary>
    private long Limit => Quota.LimitAtLine is { } atLine ? Math.Min(atLine, Quota.Settings.MonthlyLimit) : Quota.Settings.MonthlyLimit;

    private long Used => Math.Max(Quota.CommittedByStepcast, Quota.ReportedByLine ?? 0);

    private long Remaining => Quota.ExhaustedAtLine ? 0 : Limit - Used - _reserved;

    private PlanMonth CurrentMonth() => PlanMonth.Containing(Now, Quota.Settings.TimeZone);

    /// <summary>
    /// Starts a new count when the plan month changed. Reservations in flight move into the new month (counting
    /// them twice is impossible, counting them in the later month at worst holds back budget a little early).
    /// Reservations older than the timeout become used here as well.
    /// </summary>
    private void RollMonth()
    {
        var now = Now;
        var month = CurrentMonth();
        if (Quota.Month != month.Key)
        {
            var wasSet = Quota.Month.Length > 0;
            Quota.Month = month.Key;
            Quota.CommittedByStepcast = 0;
            Quota.ReportedByLine = null;
            Quota.ExhaustedAtLine = false;
            Changed();
            if (wasSet)
            {
                LogMonthStarted(logger, ChannelId, month.Key);
                StartWakingHeld();
            }
        }

        // A walk over every send in flight: at most once a minute, not on every reservation.
        if (now < _nextExpiryScan)
        {
            ArmMonthEndTimer(month);
            return;
        }

        _nextExpiryScan = now + TimeSpan.FromMinutes(1);
        foreach (var (key, reservation) in Quota.Reservations.Where(r => now - r.Value.ReservedAt > _options.ReservationTimeout).ToList())
        {
            RemoveReservation(key);
            Quota.CommittedByStepcast += reservation.Recipients;
            Changed();
        }

        ArmMonthEndTimer(month);
    }

    private void ArmMonthEndTimer(PlanMonth month)
    {
        if (_held.Count == 0 || _monthEndTimer is not null)
        {
            return;
        }

        // Held sends are woken by this activation at the month's start, in order; keep it alive until then.
        var dueIn = month.EndsAt - Now;
        _monthEndTimer = this.RegisterGrainTimer(
            () =>
            {
                _monthEndTimer?.Dispose();
                _monthEndTimer = null;
                RollMonth();
                StartWakingHeld();
                return Task.CompletedTask;
            },
            new GrainTimerCreationOptions(dueIn > TimeSpan.Zero ? dueIn : TimeSpan.Zero, Timeout.InfiniteTimeSpan) { Interleave = true, KeepAlive = true });
    }

    private void Hold(QuotaRequest request)
    {
        if (_heldByKey.ContainsKey(request.RetryKey))
        {
            return;
        }

        var held = new HeldSend(request.Priority, request.DueAt, ++_heldSequence, request.RetryKey, request.Recipients, request.FriendKey!);
        _held.Add(held);
        _heldByKey[request.RetryKey] = held;
        ArmMonthEndTimer(CurrentMonth());
    }

    /// <summary>True when a held send should go before this request.</summary>
    private bool HeldAhead(QuotaRequest request)
    {
        if (_held.Count == 0)
        {
            return false;
        }

        if (_heldByKey.ContainsKey(request.RetryKey))
        {
            return _held.Min!.RetryKey != request.RetryKey;
        }

        var probe = new HeldSend(request.Priority, request.DueAt, long.MaxValue, request.RetryKey, request.Recipients, "");
        return HeldSend.Precedence.Compare(_held.Min!, probe) < 0;
    }

    private DateTimeOffset RecheckAt(Guid retryKey)
    {
        var month = CurrentMonth();
        var recheck = Now + _options.HeldRecheckInterval;
        if (recheck < month.EndsAt)
        {
            return recheck;
        }

        // Spread by retry key, so the same send always picks the same moment.
        var spreadTicks = _options.MonthStartSpread.Ticks;
        var offset = spreadTicks <= 0 ? 0 : (long)((uint)retryKey.GetHashCode() % (ulong)spreadTicks);
        return month.EndsAt + TimeSpan.FromTicks(offset);
    }

    /// <summary>Wakes held sends in order while budget lasts; each is reserved before its friend is woken.</summary>
    private void StartWakingHeld()
    {
        if (_held.Count > 0 && _waking is null)
        {
            _waking = WakeHeldAsync();
        }
    }

    private async Task WakeHeldAsync()
    {
        try
        {
            while (_held.Count > 0 && !Quota.ExhaustedAtLine)
            {
                var batch = new List<HeldSend>();
                while (batch.Count < Math.Max(1, _options.ResumeConcurrency) && _held.Count > 0 && Remaining >= _held.Min!.Recipients)
                {
                    var next = _held.Min!;
                    _held.Remove(next);
                    _heldByKey.Remove(next.RetryKey);
                    AddReservation(next.RetryKey, next.Recipients);
                    batch.Add(next);
                }

                if (batch.Count == 0)
                {
                    return;
                }

                Changed();
                await PersistAsync();
                LogWaking(logger, ChannelId, batch.Count, _held.Count);
                await Task.WhenAll(batch.Select(WakeAsync));
            }
        }
        finally
        {
            _waking = null;
        }
    }

    private async Task WakeAsync(HeldSend held)
    {
        try
        {
            await GrainFactory.GetGrain<IFriendGrain>(held.FriendKey).ResumeHeldSend(held.RetryKey);
        }
        catch (Exception exception)
        {
            // The friend asks again on its own at its recheck time; its reservation is waiting for it.
            LogWakeFailed(logger, exception, ChannelId, held.FriendKey);
        }
    }

    private void CheckAlerts()
    {
        if (IsLimited)
        {
            metrics.ReportQuota(ChannelId, Used, Limit);
        }

        var limit = Limit;
        if (limit <= 0)
        {
            return;
        }

        var percent = Used * 100 / limit;
        foreach (var threshold in Quota.Settings.AlertThresholds.IsDefault ? [] : Quota.Settings.AlertThresholds)
        {
            if (percent >= threshold)
            {
                RaiseAlert(threshold);
            }
        }
    }

    private void RaiseAlert(int threshold)
    {
        if (Quota.Alerts.Any(a => a.Month == Quota.Month && a.ThresholdPercent == threshold))
        {
            return;
        }

        Quota.Alerts.Add(new QuotaAlert { Month = Quota.Month, ThresholdPercent = threshold, At = Now, Used = Used, Limit = Limit });
        if (Quota.Alerts.Count > AlertHistoryLimit)
        {
            Quota.Alerts.RemoveRange(0, Quota.Alerts.Count - AlertHistoryLimit);
        }

        Changed();
        LogThresholdCrossed(logger, ChannelId, threshold, Used, Limit, Quota.Month);
    }

    private async Task ReconcileQuietlyAsync()
    {
        try
        {
            await ReconcileAsync();
        }
        catch (Exception exception)
        {
            LogReconcileFailed(logger, exception, ChannelId);
        }
    }

    private async Task ReconcileAsync()
    {
        RollMonth();
        var settings = await channels.GetAsync(ChannelId);
        if (string.IsNullOrEmpty(settings?.AccessToken))
        {
            // A sandbox channel: nobody but Stepcast sends on it.
            await PersistIfChangedAsync();
            return;
        }

        var quota = await line.GetMessageQuotaAsync(settings.AccessToken);
        var consumption = await line.GetMessageQuotaConsumptionAsync(settings.AccessToken);
        if (quota.IsSuccess)
        {
            Quota.LimitAtLine = quota.Value!.IsLimited ? quota.Value.Value : null;
        }

        if (consumption.IsSuccess)
        {
            var reported = consumption.Value!.TotalUsage;
            Quota.ReportedByLine = reported;
            Quota.ReconciledAt = Now;
            if (Quota.ExhaustedAtLine && (Quota.LimitAtLine is null || reported < Quota.LimitAtLine))
            {
                // A raised limit at LINE (or a new month it already counts): its 429 no longer holds.
                Quota.ExhaustedAtLine = false;
            }
        }

        Changed();
        CheckAlerts();
        await PersistAsync();
        StartWakingHeld();
    }

    private void AddReservation(Guid retryKey, int recipients)
    {
        RemoveReservation(retryKey);
        Quota.Reservations[retryKey] = new QuotaReservation { Recipients = recipients, ReservedAt = Now };
        _reserved += recipients;
    }

    private QuotaReservation? RemoveReservation(Guid retryKey)
    {
        if (!Quota.Reservations.Remove(retryKey, out var reservation))
        {
            return null;
        }

        _reserved -= reservation.Recipients;
        return reservation;
    }

    private void Changed() => _changes++;

    private Task PersistIfChangedAsync() => _durableChanges < _changes ? PersistAsync() : Task.CompletedTask;

    /// <summary>Returns once every change made so far is stored; concurrent callers share one write.</summary>
    private async Task PersistAsync()
    {
        var needed = _changes;
        while (_durableChanges < needed)
        {
            var writing = _writing ??= WriteAsync();
            try
            {
                await writing;
            }
            finally
            {
                if (ReferenceEquals(_writing, writing))
                {
                    _writing = null;
                }
            }
        }
    }

    private async Task WriteAsync()
    {
        var covering = _changes;
        // A copy taken in this turn: a reservation made while the write is in flight goes with the next one.
        state.State = copier.Copy(Quota);
        await state.WriteStateAsync();
        _durableChanges = Math.Max(_durableChanges, covering);
    }

    /// <summary>A send waiting for budget. Higher priority first, then earlier due, then first come.</summary>
    private sealed record HeldSend(SendPriority Priority, DateTimeOffset DueAt, long Sequence, Guid RetryKey, int Recipients, string FriendKey)
    {
        public static IComparer<HeldSend> Precedence { get; } = Comparer<HeldSend>.Create((a, b) =>
        {
            var byPriority = b.Priority.CompareTo(a.Priority);
            if (byPriority != 0)
            {
                return byPriority;
            }

            var byDue = a.DueAt.CompareTo(b.DueAt);
            return byDue != 0 ? byDue : a.Sequence.CompareTo(b.Sequence);
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Channel {ChannelId} plan set to {Plan}: {Limit} messages a month, {Policy} when spent")]
    private static partial void LogConfigured(ILogger logger, string channelId, LinePlan plan, long limit, QuotaExhaustedPolicy policy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {ChannelId} crossed {Threshold}% of its monthly budget: {Used} of {Limit} in {Month}")]
    private static partial void LogThresholdCrossed(ILogger logger, string channelId, int threshold, long used, long limit, string month);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LINE refused a push on channel {ChannelId}: monthly limit reached in {Month}")]
    private static partial void LogExhaustedAtLine(ILogger logger, string channelId, string month);

    [LoggerMessage(Level = LogLevel.Information, Message = "Channel {ChannelId} starts plan month {Month}")]
    private static partial void LogMonthStarted(ILogger logger, string channelId, string month);

    [LoggerMessage(Level = LogLevel.Information, Message = "Channel {ChannelId}: waking {Count} held sends, {Left} still held")]
    private static partial void LogWaking(ILogger logger, string channelId, int count, int left);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {ChannelId}: could not wake held send of {FriendKey}")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception, string channelId, string friendKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {ChannelId}: reconciling with LINE's quota failed")]
    private static partial void LogReconcileFailed(ILogger logger, Exception exception, string channelId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {ChannelId}: storing the quota count on deactivation failed; unsettled sends time out into used")]
    private static partial void LogFinalWriteFailed(ILogger logger, Exception exception, string channelId);
}
