using System.Text.Json.Serialization;

namespace Stepcast.Grains.Friends;

[JsonConverter(typeof(JsonStringEnumConverter<FriendStatus>))]
public enum FriendStatus
{
    /// <summary>Known only through the API (no follow seen yet); pushes may still reach them.</summary>
    Unknown,
    Following,
    /// <summary>The friend blocked the account (unfollow): nothing is sent.</summary>
    Blocked,
}

/// <summary>A friend grain's persisted state. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class FriendState : ISafetyNetState
{
    [Id(0)] public FriendStatus Status { get; set; }
    [Id(1)] public DateTimeOffset? FollowedAt { get; set; }
    [Id(2)] public DateTimeOffset? BlockedAt { get; set; }
    [Id(3)] public string? DisplayName { get; set; }
    [Id(4)] public Dictionary<string, string> Attributes { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    [Id(5)] public List<string> Tags { get; set; } = [];
    [Id(6)] public List<Enrollment> Enrollments { get; set; } = [];
    /// <summary>Per scenario: how often and when the friend entered and finished it (for re-entry rules).</summary>
    [Id(7)] public Dictionary<string, Participation> Participations { get; set; } = new(StringComparer.Ordinal);
    [Id(8)] public List<HistoryEntry> History { get; set; } = [];
    [Id(9)] public List<Scenarios.SeenEvent> Events { get; set; } = [];
    [Id(10)] public string? LastReplyText { get; set; }
    [Id(11)] public DateTimeOffset? LastReplyAt { get; set; }
    /// <summary>Ids of recently handled events, so LINE's redeliveries change nothing.</summary>
    [Id(12)] public List<string> RecentEventIds { get; set; } = [];
    [Id(13)] public long EnrollmentsStarted { get; set; }
    /// <summary>When recent pushes reached the friend, for the channel's frequency caps; newest last, bounded.</summary>
    [Id(14)] public List<DateTimeOffset> RecentSends { get; set; } = [];
    /// <summary>The friend is listed in its channel's directory (for segment campaigns).</summary>
    [Id(15)] public bool InDirectory { get; set; }
    /// <summary>
    /// The wake slot (a minute, see <see cref="WakeSlots"/>) the friend is listed in for its next step, stored once the
    /// listing is; null while a reminder of its own covers it instead.
    /// </summary>
    [Id(16)] public DateTimeOffset? WakeSlot { get; set; }

    /// <summary>
    /// When a sweep wakes the friend should no activation have run its step due now by then; set before each write.
    /// Not in the payload: a store that keeps safety nets (<see cref="ISafetyNetStore"/>) writes it in its own column.
    /// </summary>
    public DateTimeOffset? SafetyNetAt
    {
        get => _safetyNetAt;
        set => _safetyNetAt = value;
    }

    [NonSerialized] private DateTimeOffset? _safetyNetAt;
}

/// <summary>
/// A run of one scenario version for one friend: "run step <see cref="StepId"/> at <see cref="DueAt"/>".
/// <see cref="DueAt"/> is also the logical time the step happens at, so waits add up from the schedule rather
/// than from when a late reminder happened to fire.
/// </summary>
[GenerateSerializer]
public sealed class Enrollment
{
    [Id(0)] public long Number { get; set; }
    [Id(1)] public string ScenarioId { get; set; } = "";
    [Id(2)] public int Version { get; set; }
    /// <summary>The next step to run; null once past the last step.</summary>
    [Id(3)] public string? StepId { get; set; }
    [Id(4)] public DateTimeOffset DueAt { get; set; }
    /// <summary>Set while a wait-for-event step waits; <see cref="DueAt"/> is then its timeout.</summary>
    [Id(5)] public string? AwaitedEvent { get; set; }
    [Id(6)] public DateTimeOffset EnteredAt { get; set; }
    /// <summary>The retry key of the send at <see cref="StepId"/>, persisted before its first attempt.</summary>
    [Id(7)] public Guid? PendingRetryKey { get; set; }
    [Id(8)] public DateTimeOffset? PendingSince { get; set; }
    /// <summary>The friend blocked while this run was in progress; kept for the resume policy.</summary>
    [Id(9)] public bool Suspended { get; set; }
    [Id(10)] public string Source { get; set; } = "";
    /// <summary>The multicast batch this run's send joined, persisted before the friend confirms to the batch.</summary>
    [Id(11)] public Guid? PendingBatchId { get; set; }
    /// <summary>Set while the send waits for the month's budget (pause policy): when it was first due, its place in line.</summary>
    [Id(12)] public DateTimeOffset? HeldSince { get; set; }
    /// <summary>Attempts made with <see cref="PendingRetryKey"/>; frequency caps only defer a send never attempted.</summary>
    [Id(13)] public int SendAttempts { get; set; }
    /// <summary>
    /// Stored before a step that could go by multicast is pushed on its own instead: from then on it is retried only as
    /// that push, under <see cref="PendingRetryKey"/>. A multicast carries its batch's key, so LINE could not tell it
    /// repeats a push it already accepted.
    /// </summary>
    [Id(14)] public bool PushedAlone { get; set; }
}

[GenerateSerializer]
public sealed class Participation
{
    [Id(0)] public int Entered { get; set; }
    [Id(1)] public DateTimeOffset LastEnteredAt { get; set; }
    [Id(2)] public DateTimeOffset? LastFinishedAt { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<HistoryKind>))]
public enum HistoryKind
{
    Entered,
    Sent,
    Failed,
    Skipped,
    RetryScheduled,
    Held,
    Holdout,
    Completed,
    Exited,
    Restarted,
    Blocked,
    Unblocked,
    Ended,
    /// <summary>An auto-reply answered the friend's text through the reply API; the detail is the rule's first keyword.</summary>
    Replied,
    /// <summary>A send was moved later to keep the channel's per-friend frequency cap; the detail says until when.</summary>
    Deferred,
    /// <summary>The friend followed a tracked link of a sent step; the detail is the link's original URL.</summary>
    Clicked,
}

/// <summary>One line of a friend's history: what happened, in which scenario step, and why.</summary>
[GenerateSerializer, Immutable]
public sealed record HistoryEntry
{
    [Id(0)] public required DateTimeOffset At { get; init; }
    [Id(1)] public required HistoryKind Kind { get; init; }
    [Id(2)] public string? ScenarioId { get; init; }
    [Id(3)] public int Version { get; init; }
    [Id(4)] public string? StepId { get; init; }
    [Id(5)] public string? Detail { get; init; }
    [Id(6)] public Guid? RetryKey { get; init; }
}
