using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Friends;

namespace Stepcast.Grains.Campaigns;

/// <summary>A campaign's persisted state. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class CampaignState
{
    [Id(0)] public CampaignDefinition? Definition { get; set; }
    [Id(1)] public CampaignStatus Status { get; set; }
    [Id(2)] public CampaignCounts Counts { get; set; } = CampaignCounts.Zero;
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }
    [Id(4)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(5)] public DateTimeOffset? FinishedAt { get; set; }
    /// <summary>The upload that may report progress; a later request can take over when this one stops reporting.</summary>
    [Id(6)] public Guid? UploadId { get; set; }
    [Id(7)] public DateTimeOffset? UploadSeenAt { get; set; }
    /// <summary>A segment campaign's position: the directory bucket and the last friend enrolled in it.</summary>
    [Id(8)] public int SegmentBucket { get; set; }
    [Id(9)] public string? SegmentAfter { get; set; }
}

/// <summary>
/// Segment campaigns walk the channel's <see cref="IFriendDirectoryGrain"/> buckets on a grain timer, one page per
/// tick, persisting their position after each; a reminder brings the walk back after a crash (the page that was in
/// progress is repeated, and its friends answer "duplicate").
/// </summary>
public sealed partial class CampaignGrain(
    [PersistentState("campaign")] IPersistentState<CampaignState> state,
    TimeProvider timeProvider,
    IOptions<CampaignOptions> options,
    ILogger<CampaignGrain> logger) : Grain, ICampaignGrain, IRemindable
{
    private const string ResumeReminder = "resume-segment";

    private IGrainTimer? _segmentTimer;

    private CampaignState Campaign => state.State;
    private DateTimeOffset Now => timeProvider.GetUtcNow();
    private bool WalkingSegment => Campaign is { Status: CampaignStatus.Enrolling, Definition.Audience: AudienceKind.Segment };

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (WalkingSegment)
        {
            StartSegmentTimer();
        }

        return Task.CompletedTask;
    }

    async Task<CampaignStart> ICampaignGrain.Start(CampaignDefinition definition, Guid uploadId)
    {
        var now = Now;
        if (Campaign.Definition is not { } existing)
        {
            Campaign.Definition = definition;
            Campaign.Status = CampaignStatus.Enrolling;
            Campaign.CreatedAt = Campaign.UpdatedAt = now;
            if (definition.Audience == AudienceKind.Upload)
            {
                Campaign.UploadId = uploadId;
                Campaign.UploadSeenAt = now;
            }
            else
            {
                await this.RegisterOrUpdateReminder(ResumeReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            }

            await GrainFactory.GetGrain<ICampaignListGrain>(definition.ChannelId).Add(definition.CampaignId);
            await state.WriteStateAsync();
            if (WalkingSegment)
            {
                StartSegmentTimer();
            }

            LogStarted(definition.ChannelId, definition.CampaignId, definition.ScenarioId, definition.Audience);
            return new CampaignStart { Created = true, Campaign = View(), UploadId = Campaign.UploadId };
        }

        var resumable = existing.Audience == AudienceKind.Upload && definition.Audience == AudienceKind.Upload
            && existing.ScenarioId == definition.ScenarioId
            && (Campaign.Status == CampaignStatus.Interrupted
                || (Campaign.Status == CampaignStatus.Enrolling && now - Campaign.UploadSeenAt > options.Value.UploadLeaseTimeout));
        if (!resumable)
        {
            return new CampaignStart { Created = false, Campaign = View() };
        }

        Campaign.Status = CampaignStatus.Enrolling;
        Campaign.UploadId = uploadId;
        Campaign.UploadSeenAt = Campaign.UpdatedAt = now;
        await state.WriteStateAsync();
        return new CampaignStart { Created = false, Campaign = View(), UploadId = uploadId };
    }

    async Task<bool> ICampaignGrain.ReportUpload(Guid uploadId, CampaignCounts delta)
    {
        var owner = OwnsUpload(uploadId);
        Campaign.Counts = Campaign.Counts.Plus(delta);
        Campaign.UpdatedAt = Now;
        if (owner)
        {
            Campaign.UploadSeenAt = Campaign.UpdatedAt;
        }

        await state.WriteStateAsync();
        return owner;
    }

    async Task<CampaignView> ICampaignGrain.FinishUpload(Guid uploadId, CampaignCounts delta, bool completed)
    {
        if (OwnsUpload(uploadId))
        {
            Campaign.Status = completed ? CampaignStatus.Completed : CampaignStatus.Interrupted;
            Campaign.UploadId = null;
            Campaign.FinishedAt = completed ? Now : null;
        }

        Campaign.Counts = Campaign.Counts.Plus(delta);
        Campaign.UpdatedAt = Now;
        await state.WriteStateAsync();
        return View();
    }

    async Task<CampaignView> ICampaignGrain.Cancel()
    {
        if (Campaign.Definition is null)
        {
            throw new InvalidOperationException("There is no such campaign.");
        }

        if (Campaign.Status is CampaignStatus.Enrolling or CampaignStatus.Interrupted)
        {
            Campaign.Status = CampaignStatus.Cancelled;
            Campaign.UploadId = null;
            Campaign.FinishedAt = Campaign.UpdatedAt = Now;
            await state.WriteStateAsync();
            await StopSegmentAsync();
            LogCancelled(Campaign.Definition.ChannelId, Campaign.Definition.CampaignId);
        }

        return View();
    }

    Task<CampaignView?> ICampaignGrain.Get() => Task.FromResult(Campaign.Definition is null ? null : View());

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (WalkingSegment)
        {
            StartSegmentTimer();
        }
        else
        {
            await StopSegmentAsync();
        }
    }

    private bool OwnsUpload(Guid uploadId) => Campaign.Status == CampaignStatus.Enrolling && Campaign.UploadId == uploadId;

    private void StartSegmentTimer() =>
        _segmentTimer ??= this.RegisterGrainTimer(WalkSegmentPageAsync, new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(1))
        {
            KeepAlive = true,
        });

    private async Task StopSegmentAsync()
    {
        _segmentTimer?.Dispose();
        _segmentTimer = null;
        if (await this.GetReminder(ResumeReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>Enrols the next page of the channel's friends, skipping empty directory buckets.</summary>
    private async Task WalkSegmentPageAsync(CancellationToken cancellationToken)
    {
        if (!WalkingSegment)
        {
            await StopSegmentAsync();
            return;
        }

        var definition = Campaign.Definition!;
        var page = ImmutableArray<string>.Empty;
        while (Campaign.SegmentBucket < FriendDirectory.Buckets)
        {
            page = await FriendDirectory.Bucket(GrainFactory, definition.ChannelId, Campaign.SegmentBucket)
                .List(Campaign.SegmentAfter, options.Value.SegmentPageSize);
            if (!page.IsEmpty)
            {
                break;
            }

            Campaign.SegmentBucket++;
            Campaign.SegmentAfter = null;
        }

        if (page.IsEmpty)
        {
            Campaign.Status = CampaignStatus.Completed;
            Campaign.FinishedAt = Campaign.UpdatedAt = Now;
            await state.WriteStateAsync();
            await StopSegmentAsync();
            LogCompleted(definition.ChannelId, definition.CampaignId, Campaign.Counts.Enrolled);
            return;
        }

        var tally = new CampaignTally();
        var enroller = new AudienceEnroller(GrainFactory, definition, timeProvider);
        foreach (var chunk in page.Chunk(Math.Max(1, options.Value.EnrollParallelism)))
        {
            await Task.WhenAll(chunk.Select(lineUserId => enroller.EnrollAsync(lineUserId, tally)));
        }

        Campaign.Counts = Campaign.Counts.Plus(tally.TakeDelta());
        Campaign.SegmentAfter = page[^1];
        Campaign.UpdatedAt = Now;
        await state.WriteStateAsync();
    }

    private CampaignView View() => new()
    {
        Definition = Campaign.Definition!,
        Status = Campaign.Status,
        Counts = Campaign.Counts,
        CreatedAt = Campaign.CreatedAt,
        UpdatedAt = Campaign.UpdatedAt,
        FinishedAt = Campaign.FinishedAt,
    };

    [LoggerMessage(LogLevel.Information, "Campaign {ChannelId}/{CampaignId} started scenario {ScenarioId} for an audience ({Audience})")]
    private partial void LogStarted(string channelId, string campaignId, string scenarioId, AudienceKind audience);

    [LoggerMessage(LogLevel.Information, "Campaign {ChannelId}/{CampaignId} cancelled")]
    private partial void LogCancelled(string channelId, string campaignId);

    [LoggerMessage(LogLevel.Information, "Segment campaign {ChannelId}/{CampaignId} completed: {Enrolled} enrolled")]
    private partial void LogCompleted(string channelId, string campaignId, long enrolled);
}

public sealed class CampaignListGrain(
    [PersistentState("campaign-list")] IPersistentState<CampaignListGrainState> state) : Grain, ICampaignListGrain
{
    async Task ICampaignListGrain.Add(string campaignId)
    {
        if (!state.State.CampaignIds.Contains(campaignId))
        {
            state.State.CampaignIds.Add(campaignId);
            await state.WriteStateAsync();
        }
    }

    Task<(ImmutableArray<string> CampaignIds, int? Next)> ICampaignListGrain.Page(int offset, int limit)
    {
        var ids = state.State.CampaignIds;
        var page = ids.Skip(Math.Max(0, offset)).Take(Math.Max(1, limit)).ToImmutableArray();
        var next = offset + page.Length;
        return Task.FromResult((page, next < ids.Count ? next : (int?)null));
    }
}

/// <summary>A channel's campaign ids in creation order. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class CampaignListGrainState
{
    [Id(0)] public List<string> CampaignIds { get; set; } = [];
}
