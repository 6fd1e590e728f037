using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Orleans.Concurrency;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Campaigns;

/// <summary>
/// One campaign — a scenario started by an API client for an audience — keyed <c>{channelId}/{campaignId}</c>
/// (<see cref="CampaignKey"/>). It holds what was asked and the progress; the enrolments themselves are
/// <c>IFriendGrain.Enroll</c> calls with the event id <c>campaign:{campaignId}</c>, so a friend is enrolled by a
/// campaign at most once however often its id is sent. An uploaded audience is streamed by the Api process that
/// received it and reported here as it goes; a segment is walked by the grain itself, page by page.
/// </summary>
public interface ICampaignGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the campaign, or answers the existing one unchanged (a repeated request). For an upload, the answer's
    /// <see cref="CampaignStart.UploadId"/> tells the caller to stream the audience: the first request, or a repeat
    /// after the upload was interrupted; never while another request is still uploading.
    /// </summary>
    Task<CampaignStart> Start(CampaignDefinition definition, Guid uploadId);

    /// <summary>Adds an upload's progress; false when the upload must stop (cancelled, or taken over by a later request).</summary>
    Task<bool> ReportUpload(Guid uploadId, CampaignCounts delta);

    /// <summary>The upload ended: <paramref name="completed"/> when the whole audience was read, else interrupted (resumable by a repeat).</summary>
    Task<CampaignView> FinishUpload(Guid uploadId, CampaignCounts delta, bool completed);

    /// <summary>Stops further enrolment. Runs already started go on (see docs/campaigns.md). Idempotent.</summary>
    Task<CampaignView> Cancel();

    [ReadOnly]
    Task<CampaignView?> Get();
}

public static class CampaignKey
{
    public static string Format(string channelId, string campaignId) => $"{channelId}/{campaignId}";
}

[JsonConverter(typeof(JsonStringEnumConverter<CampaignStatus>))]
public enum CampaignStatus
{
    /// <summary>Enrolment under way.</summary>
    Enrolling,
    /// <summary>The whole audience was processed.</summary>
    Completed,
    /// <summary>The upload broke off (the client went away); repeating the request with the same idempotency key resumes it.</summary>
    Interrupted,
    Cancelled,
}

[JsonConverter(typeof(JsonStringEnumConverter<AudienceKind>))]
public enum AudienceKind
{
    /// <summary>LINE user ids streamed in the request body (NDJSON or CSV).</summary>
    Upload,
    /// <summary>Every friend of the channel matching a condition on attributes, tags and events.</summary>
    Segment,
}

/// <summary>What an API client asked for. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer, Immutable]
public sealed record CampaignDefinition
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string CampaignId { get; init; }
    [Id(2)] public required string ScenarioId { get; init; }
    [Id(3)] public string? IdempotencyKey { get; init; }
    [Id(4)] public AudienceKind Audience { get; init; }
    [Id(5)] public Condition? Segment { get; init; }
    /// <summary>Only friends seen following the account are enrolled (the default); others count as "not a friend".</summary>
    [Id(6)] public bool FollowingOnly { get; init; } = true;
}

/// <summary>Progress counters; <see cref="Accepted"/> = <see cref="Enrolled"/> + every skip + <see cref="Failed"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record CampaignCounts
{
    /// <summary>Audience rows (or segment candidates) processed.</summary>
    [Id(0)] public long Accepted { get; init; }
    [Id(1)] public long Enrolled { get; init; }
    /// <summary>Not a LINE user id (<c>U</c> and 32 hex digits).</summary>
    [Id(2)] public long InvalidId { get; init; }
    /// <summary>Never seen following the account.</summary>
    [Id(3)] public long NotAFriend { get; init; }
    [Id(4)] public long Blocked { get; init; }
    /// <summary>Already running the scenario.</summary>
    [Id(5)] public long AlreadyEnrolled { get; init; }
    /// <summary>The scenario's re-entry policy keeps the friend out.</summary>
    [Id(6)] public long NotEligible { get; init; }
    [Id(7)] public long NotInSegment { get; init; }
    /// <summary>The id came again (twice in the upload, or again in a resumed upload): this campaign already handled it.</summary>
    [Id(8)] public long Duplicate { get; init; }
    /// <summary>The scenario was not published or outside its validity when the friend was reached.</summary>
    [Id(9)] public long ScenarioNotActive { get; init; }
    /// <summary>The enrolment call failed (timeouts, a silo lost); the friend may be enrolled by repeating the request.</summary>
    [Id(10)] public long Failed { get; init; }

    public static CampaignCounts Zero { get; } = new();

    public long Skipped => InvalidId + NotAFriend + Blocked + AlreadyEnrolled + NotEligible + NotInSegment + Duplicate + ScenarioNotActive;

    public CampaignCounts Plus(CampaignCounts other) => new()
    {
        Accepted = Accepted + other.Accepted,
        Enrolled = Enrolled + other.Enrolled,
        InvalidId = InvalidId + other.InvalidId,
        NotAFriend = NotAFriend + other.NotAFriend,
        Blocked = Blocked + other.Blocked,
        AlreadyEnrolled = AlreadyEnrolled + other.AlreadyEnrolled,
        NotEligible = NotEligible + other.NotEligible,
        NotInSegment = NotInSegment + other.NotInSegment,
        Duplicate = Duplicate + other.Duplicate,
        ScenarioNotActive = ScenarioNotActive + other.ScenarioNotActive,
        Failed = Failed + other.Failed,
    };
}

[GenerateSerializer, Immutable]
public sealed record CampaignView
{
    [Id(0)] public required CampaignDefinition Definition { get; init; }
    [Id(1)] public required CampaignStatus Status { get; init; }
    [Id(2)] public required CampaignCounts Counts { get; init; }
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    [Id(4)] public DateTimeOffset UpdatedAt { get; init; }
    [Id(5)] public DateTimeOffset? FinishedAt { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record CampaignStart
{
    /// <summary>False for a repeated request: the campaign existed already.</summary>
    [Id(0)] public required bool Created { get; init; }
    [Id(1)] public required CampaignView Campaign { get; init; }
    /// <summary>Set when the caller must stream the uploaded audience under this id; null otherwise.</summary>
    [Id(2)] public Guid? UploadId { get; init; }
}

/// <summary>The campaigns of one channel in creation order, keyed by channel id, for listing.</summary>
public interface ICampaignListGrain : IGrainWithStringKey
{
    Task Add(string campaignId);

    /// <summary>Campaign ids from position <paramref name="offset"/>; the position after the page, or null at the end.</summary>
    [ReadOnly]
    Task<(ImmutableArray<string> CampaignIds, int? Next)> Page(int offset, int limit);
}
