using System.Collections.Immutable;
using Orleans.Concurrency;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Quota;

/// <summary>
/// The monthly message budget of one LINE channel (keyed by channel id). Every push and multicast reserves its
/// recipients here before the LINE call, then commits or releases them; a reservation is keyed by the send's retry
/// key, so a retried send is never counted twice. One activation serialises every silo's requests: the month's
/// count never exceeds the plan.
/// </summary>
public interface IPlanQuotaGrain : IGrainWithStringKey
{
    /// <summary>Sets the plan and cost controls. Raising the budget wakes sends held for it, in priority and due order.</summary>
    Task Configure(QuotaSettings settings);

    [ReadOnly]
    Task<QuotaSettings> GetSettings();

    /// <summary>Reserves the send's recipients; granted at once for a retry key already reserved.</summary>
    Task<QuotaDecision> Reserve(QuotaRequest request);

    /// <summary>The send reached LINE: its reservation becomes used budget.</summary>
    [OneWay]
    Task Commit(Guid retryKey);

    /// <summary>The send did not reach LINE (refused, skipped, the friend left): its reservation returns to the budget.</summary>
    [OneWay]
    Task Release(Guid retryKey);

    /// <summary>
    /// A multicast reached LINE with <paramref name="recipients"/> of the recipients reserved for it: those become used
    /// budget, and the rest (members that did not confirm in time) return to it.
    /// </summary>
    [OneWay]
    Task CommitRecipients(Guid retryKey, int recipients);

    /// <summary>
    /// LINE answered 429 "monthly limit": the account's budget is spent whatever our count says. Releases the send's
    /// reservation and answers as a refused <see cref="Reserve"/> would (holding the send under the pause policy).
    /// </summary>
    Task<QuotaDecision> ReportExhaustedByLine(QuotaRequest request);

    /// <summary>Reads LINE's own quota and consumption now (also done periodically) and takes the larger count.</summary>
    Task Reconcile();

    Task<QuotaStatus> GetStatus();
}

/// <summary>A send asking for budget.</summary>
[GenerateSerializer, Immutable]
public sealed record QuotaRequest
{
    /// <summary>The send's retry key (a multicast's batch key): the reservation's identity.</summary>
    [Id(0)] public required Guid RetryKey { get; init; }
    /// <summary>Messages LINE will count: one per recipient.</summary>
    [Id(1)] public required int Recipients { get; init; }
    [Id(2)] public SendPriority Priority { get; init; } = SendPriority.Normal;
    /// <summary>When the step was first due: held sends go out earliest first.</summary>
    [Id(3)] public DateTimeOffset DueAt { get; init; }
    /// <summary>The friend to wake when budget returns (null for a multicast batch, which is not held).</summary>
    [Id(4)] public string? FriendKey { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record QuotaDecision
{
    [Id(0)] public required bool Granted { get; init; }
    /// <summary>What the sender does when not granted.</summary>
    [Id(1)] public QuotaExhaustedPolicy Policy { get; init; }
    /// <summary>When not granted: when a held send should ask again if nobody wakes it first.</summary>
    [Id(2)] public DateTimeOffset? RecheckAt { get; init; }
    [Id(3)] public string? Reason { get; init; }

    public static QuotaDecision Grant { get; } = new() { Granted = true };
}

[GenerateSerializer, Immutable]
public sealed record QuotaStatus
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required QuotaSettings Settings { get; init; }
    /// <summary>The plan month, "yyyy-MM" in the account's time zone.</summary>
    [Id(2)] public required string Month { get; init; }
    [Id(3)] public required DateTimeOffset MonthEndsAt { get; init; }
    [Id(4)] public long Limit { get; init; }
    /// <summary>Messages counted this month: the larger of Stepcast's own commits and LINE's reported consumption.</summary>
    [Id(5)] public long Used { get; init; }
    /// <summary>Messages reserved by sends in flight.</summary>
    [Id(6)] public long Reserved { get; init; }
    [Id(7)] public long Remaining { get; init; }
    [Id(8)] public long CommittedByStepcast { get; init; }
    /// <summary>LINE's own count at the last reconciliation (includes messages sent from LINE's manager).</summary>
    [Id(9)] public long? ReportedByLine { get; init; }
    [Id(10)] public DateTimeOffset? ReconciledAt { get; init; }
    /// <summary>Sends held for budget (pause policy), waiting to be woken.</summary>
    [Id(11)] public int HeldSends { get; init; }
    [Id(12)] public ImmutableArray<QuotaAlert> Alerts { get; init; } = [];
    /// <summary>Set when LINE itself refused with its monthly-limit 429 this month.</summary>
    [Id(13)] public bool ExhaustedAtLine { get; init; }
}

/// <summary>A threshold of the month's budget was crossed.</summary>
[GenerateSerializer, Immutable]
public sealed record QuotaAlert
{
    [Id(0)] public required string Month { get; init; }
    [Id(1)] public required int ThresholdPercent { get; init; }
    [Id(2)] public required DateTimeOffset At { get; init; }
    [Id(3)] public required long Used { get; init; }
    [Id(4)] public required long Limit { get; init; }
}
