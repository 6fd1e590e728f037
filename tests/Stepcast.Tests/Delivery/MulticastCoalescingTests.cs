using System.Text.Json;
using Stepcast.FakeLine;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Delivery.Multicast;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Infrastructure;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Delivery;

/// <summary>
/// Many friends due for the same step at the same moment: plain content goes out as multicasts of at most 500,
/// personalised content as pushes, and every friend gets every step exactly once — also when LINE fails.
/// </summary>
[Collection(CoalescingLineCollection.Name)]
public sealed class MulticastCoalescingTests(CoalescingLineCluster cluster, Xunit.Abstractions.ITestOutputHelper output)
    : MulticastCoalescingScenarios(cluster, output);

/// <summary>
/// The same, with each send's route kept in memory until the run's own write, as the embedded topology does
/// (<c>Stepcast:Engine:StoreRouteBeforeSending</c> off): short of a crash, still exactly once.
/// </summary>
[Collection(CoalescingRouteInMemoryLineCollection.Name)]
public sealed class MulticastCoalescingWithRoutesInMemoryTests(CoalescingRouteInMemoryLineCluster cluster, Xunit.Abstractions.ITestOutputHelper output)
    : MulticastCoalescingScenarios(cluster, output);

public abstract class MulticastCoalescingScenarios(LineDeliveryCluster cluster, Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private static IEnumerable<(string Friend, string Text)> Received(IEnumerable<FakeLineDelivery> sends) =>
        sends.SelectMany(send =>
        {
            var text = JsonDocument.Parse(send.MessagesJson).RootElement[0].GetProperty("text").GetString()!;
            return send.Recipients.Select(friend => (friend, text));
        });

    private async Task<IReadOnlyList<FriendSnapshot>> RunCampaignAsync(string channel, string[] friends)
    {
        await cluster.PublishAsync(Define(channel, "sale", new ApiTrigger(),
            new WaitStep { Id = "until-ten", Minutes = 1 },
            Send("announce", "The spring sale starts now"),
            Send("personal", "{displayName}, your coupon is ready")));
        var now = DateTimeOffset.UtcNow;
        await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).Enroll(new EnrollCommand { ScenarioId = "sale", At = now })));
        return await cluster.DriveUntilAsync(channel, friends, s => s.Enrollments.IsEmpty, Patience);
    }

    [Fact]
    public async Task A_batch_id_stored_by_a_friend_for_a_group_that_never_formed_a_batch_sends_that_friend_nothing()
    {
        // A friend stores its group's batch id before the group is sealed; a group sealed with one member (or lost
        // with its silo) never creates the batch, and the friend must hear "not in batch" and push on its own.
        var outcome = await cluster.Grains.GetGrain<IMulticastBatchGrain>(Guid.NewGuid()).Deliver("U-alone");

        Assert.Equal(DeliveryStatus.NotInBatch, outcome.Status);
    }

    /// <summary>
    /// A batch goes to the members that confirmed before the confirm timeout and to no one else: a member that never
    /// confirmed is left out and, asking later, hears "not in batch" (it then pushes on its own), as does a friend the
    /// batch never listed.
    /// </summary>
    [Fact]
    public async Task A_batch_goes_to_the_members_that_confirmed_in_time_and_answers_anyone_else_not_in_batch()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        var batch = cluster.Grains.GetGrain<IMulticastBatchGrain>(Guid.NewGuid());
        await batch.Create(new MulticastRequest
        {
            ChannelId = channel,
            LineUserIds = ["U-member-1", "U-member-2", "U-member-late"],
            RetryKey = Guid.NewGuid(),
            Messages = [LineMessage.Text("Members only")],
            ScenarioId = "members",
            ScenarioVersion = 1,
            StepId = "announce",
        });

        Assert.Equal(DeliveryStatus.NotInBatch, (await batch.Deliver("U-stranger")).Status);
        // The third member never confirms: the other two wait for the confirm timeout, then go without it.
        var confirmed = await Task.WhenAll(batch.Deliver("U-member-1"), batch.Deliver("U-member-2"));
        Assert.All(confirmed, outcome => Assert.Equal(DeliveryStatus.Delivered, outcome.Status));
        Assert.Equal(DeliveryStatus.NotInBatch, (await batch.Deliver("U-member-late")).Status);
        Assert.Equal(DeliveryStatus.NotInBatch, (await batch.Deliver("U-stranger")).Status);

        var multicast = Assert.Single(cluster.SendsFor(token));
        Assert.Equal("multicast", multicast.Endpoint);
        Assert.Equal(["U-member-1", "U-member-2"], multicast.Recipients.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Friends_due_together_for_a_plain_step_share_multicasts_of_at_most_500()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        var friends = Enumerable.Range(1, 1200).Select(i => $"M{i:D5}").ToArray();

        var snapshots = await RunCampaignAsync(channel, friends);

        Assert.All(snapshots, s => Assert.Empty(s.Enrollments));
        var sends = cluster.SendsFor(token);
        var multicasts = sends.Where(s => s.Endpoint == "multicast").ToList();
        Assert.NotEmpty(multicasts);
        Assert.All(multicasts, m => Assert.InRange(m.Recipients.Count, 2, 500));
        Assert.True(multicasts.Count < friends.Length / 10, $"{multicasts.Count} multicasts for {friends.Length} friends");
        // A friend alone in its window pushes instead; with everyone due together that is the exception.
        output.WriteLine($"{friends.Length} friends: {multicasts.Count} multicasts ({string.Join(", ", multicasts.Select(m => m.Recipients.Count))} recipients), {sends.Count(s => s.Endpoint == "push")} pushes");
        var plainPushes = sends.Count(s => s.Endpoint == "push" && s.MessagesJson.Contains("spring sale", StringComparison.Ordinal));
        Assert.True(plainPushes < friends.Length / 20, $"{plainPushes} friends pushed the plain step alone");
        var received = Received(sends).GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(friends, friend =>
        {
            Assert.Equal(1, received.GetValueOrDefault((friend, "The spring sale starts now")));
            Assert.Equal(1, received.GetValueOrDefault((friend, ", your coupon is ready")));
        });
    }

    [Fact]
    public async Task Every_friend_gets_a_coalesced_step_exactly_once_despite_lost_multicast_responses()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        var friends = Enumerable.Range(1, 600).Select(i => $"F{i:D5}").ToArray();
        cluster.Line.Faults.Add(new FakeLineFault { StatusCode = 503, Probability = 0.2, Seed = 11, Endpoint = "multicast" });
        cluster.Line.Faults.Add(new FakeLineFault { StatusCode = 500, AfterRecording = true, Probability = 0.3, Seed = 12, Endpoint = "multicast" });
        IReadOnlyList<FriendSnapshot> snapshots;
        try
        {
            snapshots = await RunCampaignAsync(channel, friends);
        }
        finally
        {
            cluster.Line.Faults.Clear();
        }

        Assert.All(snapshots, s => Assert.Empty(s.Enrollments));
        var received = Received(cluster.SendsFor(token)).Where(r => r.Text.StartsWith("The spring sale", StringComparison.Ordinal))
            .GroupBy(r => r.Friend).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(friends, friend => Assert.Equal(1, received.GetValueOrDefault(friend)));
        Assert.True(cluster.Line.Stats.Requests(token, "multicast") > cluster.SendsFor(token).Count(s => s.Endpoint == "multicast"),
            "no multicast was ever retried");
    }

    /// <summary>
    /// Each friend is alone in its window, so the step is pushed; LINE records each push but its answer never arrives.
    /// The friends then block and unblock (the scenario resumes), so their retries fall due in the same window. They
    /// must go as the same pushes (LINE answers 409), not as one multicast, whose own retry key LINE would accept again.
    /// (Found by the 100,000-friend scale run, where friends received a push and then a multicast.)
    /// </summary>
    [Fact]
    public async Task A_push_whose_answer_was_lost_is_retried_as_that_push_and_never_joins_a_multicast()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        await cluster.PublishAsync(Define(channel, "flash", new ApiTrigger(), Send("announce", "The flash sale starts now")) with { OnUnblock = UnblockPolicy.Resume });
        var friends = Enumerable.Range(1, 6).Select(i => $"P{i:D5}").ToArray();
        cluster.Line.Faults.Add(new FakeLineFault
        {
            Kind = FakeLineFaultKind.Hang, AfterRecording = true, HangDuration = TimeSpan.FromSeconds(3), Endpoint = "push", Count = friends.Length,
        });
        try
        {
            for (var i = 0; i < friends.Length; i++)
            {
                await cluster.Friend(channel, friends[i]).Enroll(new EnrollCommand { ScenarioId = "flash", At = DateTimeOffset.UtcNow });
                // One at a time, each recorded before the next enrolls: every first attempt is a push of its own.
                var pushed = i + 1;
                await Eventually.UntilAsync(() => Task.FromResult(cluster.SendsFor(token).Count), count => count >= pushed, TimeSpan.FromSeconds(20));
                // Blocked as soon as the lost answer is given up on: no retry until all of them unblock together.
                await cluster.Friend(channel, friends[i]).Unfollow(new UnfollowCommand { At = DateTimeOffset.UtcNow });
            }
        }
        finally
        {
            cluster.Line.Faults.Clear();
        }

        var blocked = await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).GetSnapshot()));
        Assert.All(blocked, s => Assert.Contains(s.History, h => h.Kind == HistoryKind.RetryScheduled));
        await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow, IsUnblocked = true })));
        var snapshots = await cluster.DriveUntilAsync(channel, friends, s => s.Enrollments.IsEmpty, Patience);

        Assert.All(snapshots, s => Assert.Empty(s.Enrollments));
        var received = Received(cluster.SendsFor(token)).GroupBy(r => r.Friend).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(friends, friend => Assert.Equal(1, received.GetValueOrDefault(friend)));
        Assert.All(snapshots, s => Assert.Contains(s.History, h => h.Kind == HistoryKind.Sent && h.Detail != null && h.Detail.Contains("409", StringComparison.Ordinal)));
    }
}
