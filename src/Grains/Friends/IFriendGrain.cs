using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Stepcast.Grains.Friends;

/// <summary>
/// One friend of one LINE channel (see <see cref="FriendKey"/>): follow/block state, attributes, tags, the
/// scenarios it is running and what was sent. Every command returns once its effect is persisted; sends then
/// happen in the background, and waits are Orleans reminders, so a waiting friend holds no memory.
/// </summary>
public interface IFriendGrain : IGrainWithStringKey
{
    Task<SignalResult> Follow(FollowCommand command);
    Task<SignalResult> Unfollow(UnfollowCommand command);
    Task<SignalResult> ReceiveText(TextMessageCommand command);
    Task<SignalResult> RecordEvent(FriendEventCommand command);
    Task<SignalResult> UpdateProfile(UpdateProfileCommand command);

    /// <summary>Starts a scenario for this friend on request (a campaign or an API call).</summary>
    Task<EnrollResult> Enroll(EnrollCommand command);

    /// <summary>Runs every step that is due now. Idempotent: a second call finds nothing left to do.</summary>
    Task RunDueSteps();

    /// <summary>The same as <see cref="RunDueSteps"/>, posted by the grain to itself after answering a command.</summary>
    [OneWay]
    Task RunDueStepsInBackground();

    /// <summary>
    /// Called by the <see cref="ISafetyNetSweepGrain"/> for a friend whose safety net in storage is overdue: runs what is
    /// due and writes the row anew, so its safety net moves on (or goes) even when nothing was left to run.
    /// </summary>
    Task RunOverdueSteps();

    /// <summary>
    /// Called by the <see cref="IWakeSlotGrain"/> of minute <paramref name="slot"/> as it fires: runs what is due, or, when
    /// the step is not due yet on this silo's clock (moved, or clocks a little apart), makes sure a reminder or another
    /// slot covers it. Answers once it has: the slot then forgets the friend.
    /// </summary>
    Task Wake(DateTimeOffset slot);

    /// <summary>
    /// Budget returned for the send held under <paramref name="retryKey"/> and is reserved for it: the friend
    /// re-evaluates the step and sends it now, or releases the reservation when it no longer applies.
    /// </summary>
    Task ResumeHeldSend(Guid retryKey);

    [ReadOnly]
    Task<FriendSnapshot> GetSnapshot();

    /// <summary>
    /// The friend followed a tracked link of a step it was sent: records the click and answers the link's original
    /// URL, or null when the scenario step has no such link.
    /// </summary>
    Task<string?> RecordClick(ClickCommand command);
}

[GenerateSerializer, Immutable]
public sealed record FollowCommand
{
    /// <summary>LINE's webhookEventId (or another unique id): a repeat is recognised and ignored.</summary>
    [Id(0)] public string? EventId { get; init; }
    [Id(1)] public required DateTimeOffset At { get; init; }
    [Id(2)] public bool IsUnblocked { get; init; }
    [Id(3)] public string? DisplayName { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record UnfollowCommand
{
    [Id(0)] public string? EventId { get; init; }
    [Id(1)] public required DateTimeOffset At { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record TextMessageCommand
{
    [Id(0)] public string? EventId { get; init; }
    [Id(1)] public required DateTimeOffset At { get; init; }
    [Id(2)] public required string Text { get; init; }
    [Id(3)] public string? ReplyToken { get; init; }
}

/// <summary>A store or custom event (cart_abandoned, purchased, shipped, …).</summary>
[GenerateSerializer, Immutable]
public sealed record FriendEventCommand
{
    [Id(0)] public string? EventId { get; init; }
    [Id(1)] public required DateTimeOffset At { get; init; }
    [Id(2)] public required string Name { get; init; }

    /// <summary>
    /// What the event carried, e.g. a postback's <c>data</c> and picker values, or an account link's
    /// <c>result</c> and <c>nonce</c>. Not kept in the friend's state: conditions match event names only, and a
    /// hundred remembered postbacks of up to 300 characters each would multiply the size of every friend row.
    /// </summary>
    [Id(3)] public ImmutableDictionary<string, string> Properties { get; init; } = ImmutableDictionary<string, string>.Empty;
}

[GenerateSerializer, Immutable]
public sealed record UpdateProfileCommand
{
    [Id(0)] public string? EventId { get; init; }
    [Id(1)] public string? DisplayName { get; init; }
    [Id(2)] public ImmutableDictionary<string, string> SetAttributes { get; init; } = ImmutableDictionary<string, string>.Empty;
    [Id(3)] public ImmutableArray<string> RemoveAttributes { get; init; } = [];
    [Id(4)] public ImmutableArray<string> AddTags { get; init; } = [];
    [Id(5)] public ImmutableArray<string> RemoveTags { get; init; } = [];
}

[GenerateSerializer, Immutable]
public sealed record EnrollCommand
{
    [Id(0)] public required string ScenarioId { get; init; }
    [Id(1)] public required DateTimeOffset At { get; init; }
    /// <summary>Who asked, for the history, e.g. <c>campaign:spring-sale</c>.</summary>
    [Id(2)] public string Source { get; init; } = "api";
    [Id(3)] public string? EventId { get; init; }

    /// <summary>
    /// Only a friend known to follow the account enters (<see cref="EnrollOutcome.NotAFriend"/> otherwise); checked
    /// before anything is written, so an audience full of unknown ids creates no friend rows.
    /// </summary>
    [Id(4)] public bool FollowingOnly { get; init; }

    /// <summary>Only a friend matching this condition (attributes, tags, events ever had) enters (a segment).</summary>
    [Id(5)] public Scenarios.Condition? Segment { get; init; }
}

/// <summary>A click on a tracked link: which step's link, by its position among the step's links.</summary>
[GenerateSerializer, Immutable]
public sealed record ClickCommand
{
    [Id(0)] public required string ScenarioId { get; init; }
    [Id(1)] public required int Version { get; init; }
    [Id(2)] public required string StepId { get; init; }
    [Id(3)] public required int LinkIndex { get; init; }
    [Id(4)] public required DateTimeOffset At { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record SignalResult
{
    /// <summary>False when the command's event id was seen before: nothing changed.</summary>
    [Id(0)] public bool Accepted { get; init; }
    /// <summary>Scenarios the friend entered because of this command.</summary>
    [Id(1)] public ImmutableArray<string> EnteredScenarios { get; init; } = [];

    public static SignalResult Duplicate { get; } = new() { Accepted = false };
}

public enum EnrollOutcome
{
    Enrolled,
    /// <summary>A repeat of an enrolment already made (same event id).</summary>
    Duplicate,
    AlreadyEnrolled,
    /// <summary>The scenario's re-entry policy does not let this friend in again.</summary>
    NotEligible,
    Blocked,
    /// <summary>The scenario is not published (draft, paused, archived or unknown).</summary>
    ScenarioNotActive,
    OutsideValidity,
    /// <summary>Asked for followers only, and the friend was never seen following the account.</summary>
    NotAFriend,
    /// <summary>The friend does not match the command's segment condition.</summary>
    NotInSegment,
}

[GenerateSerializer, Immutable]
public sealed record EnrollResult([property: Id(0)] EnrollOutcome Outcome, [property: Id(1)] string? Detail = null);
