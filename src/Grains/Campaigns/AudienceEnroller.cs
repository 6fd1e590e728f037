using System.Threading.Channels;
using Stepcast.Grains.Friends;

namespace Stepcast.Grains.Campaigns;

/// <summary>
/// Enrols a campaign's audience through the friend grains, a bounded number of calls at a time. Memory stays bounded
/// whatever the audience's size: the rows are read as they are needed, through a buffer of a few times the calls in
/// flight.
/// </summary>
public sealed class AudienceEnroller(IGrainFactory grains, CampaignDefinition campaign, TimeProvider clock)
{
    public string EventId { get; } = $"campaign:{campaign.CampaignId}";

    /// <summary>Enrols one friend; invalid ids and failed calls are counted rather than thrown.</summary>
    public async Task EnrollAsync(string lineUserId, CampaignTally tally)
    {
        if (!LineUserIds.IsValid(lineUserId))
        {
            tally.InvalidId();
            return;
        }

        try
        {
            var result = await grains.GetFriend(campaign.ChannelId, lineUserId).Enroll(new EnrollCommand
            {
                ScenarioId = campaign.ScenarioId,
                At = clock.GetUtcNow(),
                Source = EventId,
                EventId = EventId,
                FollowingOnly = campaign.FollowingOnly,
                Segment = campaign.Segment,
            });
            tally.Outcome(result.Outcome);
        }
        catch (Exception exception) when (exception is TimeoutException or OrleansException)
        {
            tally.Failed();
        }
    }

    /// <summary>Enrols every row; stops early, leaving the rest unread, when <paramref name="cancellationToken"/> fires.</summary>
    public async Task EnrollAllAsync(IAsyncEnumerable<string> rows, int parallelism, CampaignTally tally, CancellationToken cancellationToken)
    {
        var buffer = Channel.CreateBounded<string>(new BoundedChannelOptions(parallelism * 4) { SingleWriter = true });
        var workers = Enumerable.Range(0, parallelism).Select(_ => Task.Run(async () =>
        {
            while (await buffer.Reader.WaitToReadAsync(cancellationToken))
            {
                while (!cancellationToken.IsCancellationRequested && buffer.Reader.TryRead(out var lineUserId))
                {
                    await EnrollAsync(lineUserId, tally);
                }
            }
        }, CancellationToken.None)).ToList();

        try
        {
            await foreach (var row in rows.WithCancellation(cancellationToken))
            {
                await buffer.Writer.WriteAsync(row, cancellationToken);
            }
        }
        finally
        {
            buffer.Writer.TryComplete();
            try
            {
                await Task.WhenAll(workers);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped on request; the reader's own exception (or none) is what the caller sees.
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}
