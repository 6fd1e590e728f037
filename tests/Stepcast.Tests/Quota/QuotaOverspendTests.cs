using Stepcast.FakeLine;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Delivery;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Quota;

/// <summary>
/// Many friends on two silos push at once against a communication plan (200 a month); the fake LINE server, which
/// itself has no limit here, counts what was really sent.
/// </summary>
internal static class Overspend
{
    public const int Friends = 260;
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    public static async Task<(IReadOnlyList<FakeLineDelivery> Sends, QuotaStatus Quota, IReadOnlyList<FriendSnapshot> Snapshots)> RunAsync(
        LineDeliveryCluster cluster, string channel)
    {
        var token = await cluster.RegisterLineChannelAsync(channel);
        var quota = cluster.Grains.GetGrain<IPlanQuotaGrain>(channel);
        await quota.Configure(new QuotaSettings { Plan = LinePlan.Communication });
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome!")));
        var friends = Enumerable.Range(1, Friends).Select(i => $"U{i:D4}").ToArray();

        await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
        var snapshots = await cluster.DriveUntilAsync(channel, friends,
            s => s.Enrollments.IsEmpty || s.Enrollments.All(r => r.HeldForQuotaSince is not null), Patience);

        var deadline = DateTime.UtcNow + Patience;
        var status = await quota.GetStatus();
        while (status.Reserved > 0 && DateTime.UtcNow < deadline)
        {
            // Commits are one-way messages sent after each friend stored its outcome.
            await Task.Delay(100);
            status = await quota.GetStatus();
        }

        return (cluster.SendsFor(token), status, snapshots);
    }
}

[Collection(FaultyLineCollection.Name)]
public sealed class QuotaOverspendOnPushTests(FaultyLineCluster cluster)
{
    [Fact]
    public async Task Concurrent_pushes_from_two_silos_never_exceed_the_plan_and_spend_all_of_it()
    {
        var (sends, quota, snapshots) = await Overspend.RunAsync(cluster, NewChannel());

        Assert.Equal(200, sends.Sum(s => s.Recipients.Count));
        Assert.Equal(200, quota.Used);
        Assert.Equal(0, quota.Remaining);
        Assert.Equal(Overspend.Friends - 200, snapshots.Count(s => s.Enrollments.Any(r => r.HeldForQuotaSince is not null)));
        Assert.Equal(Overspend.Friends - 200, quota.HeldSends);
    }

    [Fact]
    public async Task A_retried_send_whose_first_answer_was_lost_is_counted_once()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome!")));
        var friends = Enumerable.Range(1, 60).Select(i => $"U{i:D4}").ToArray();

        // LINE accepts, then the answer is lost: the friend retries with the same key and LINE answers 409.
        cluster.Line.Faults.Add(new FakeLineFault { StatusCode = 500, AfterRecording = true, Probability = 0.5, Seed = 7, Endpoint = "push" });
        try
        {
            await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
            await cluster.DriveUntilAsync(channel, friends, s => s.Enrollments.IsEmpty, Overspend.Patience);
        }
        finally
        {
            cluster.Line.Faults.Clear();
        }

        var quota = cluster.Grains.GetGrain<IPlanQuotaGrain>(channel);
        var deadline = DateTime.UtcNow + Overspend.Patience;
        var status = await quota.GetStatus();
        while ((status.Reserved > 0 || status.CommittedByStepcast < friends.Length) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            status = await quota.GetStatus();
        }

        Assert.Equal(friends.Length, cluster.PushesFor(token).Count);
        Assert.True(cluster.Line.Stats.Requests(token, "push") > friends.Length, "no push was retried");
        Assert.Equal(friends.Length, status.CommittedByStepcast);
        Assert.Equal(0, status.Reserved);
    }

    [Fact]
    public async Task Reconciliation_counts_messages_sent_from_LINEs_own_tools()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        cluster.Line.SetMonthlyQuota(token, 5_000);
        var quota = cluster.Grains.GetGrain<IPlanQuotaGrain>(channel);
        await quota.Configure(new QuotaSettings { Plan = LinePlan.Light, AlertThresholds = [80, 100] });

        // The brand's staff sent a broadcast from LINE Official Account Manager: 4,500 of the 5,000.
        cluster.Line.SendOutsideStepcast(token, 4_500);
        await quota.Reconcile();

        var status = await quota.GetStatus();
        Assert.Equal(4_500, status.ReportedByLine);
        Assert.Equal(4_500, status.Used);
        Assert.Equal(500, status.Remaining);
        Assert.Equal(0, status.CommittedByStepcast);
        Assert.Equal([80], status.Alerts.Select(a => a.ThresholdPercent));
    }
}

[Collection(CoalescingLineCollection.Name)]
public sealed class QuotaOverspendOnMulticastTests(CoalescingLineCluster cluster)
{
    [Fact]
    public async Task Coalesced_multicasts_from_two_silos_never_exceed_the_plan_and_spend_all_of_it()
    {
        var (sends, quota, _) = await Overspend.RunAsync(cluster, NewChannel());

        Assert.Equal(200, sends.Sum(s => s.Recipients.Count));
        Assert.Contains(sends, s => s.Endpoint == "multicast");
        Assert.Equal(200, quota.Used);
        Assert.Equal(Overspend.Friends - 200, quota.HeldSends);
    }

    [Fact]
    public async Task Batches_reserve_for_their_members_and_groups_larger_than_the_budget_left_fall_back_to_pushes_within_it()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        var quota = cluster.Grains.GetGrain<IPlanQuotaGrain>(channel);
        await quota.Configure(new QuotaSettings { Plan = LinePlan.Custom, CustomMonthlyLimit = 10 });
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome!")));

        // Six friends at once, on two silos: at least one silo's group fits the budget of ten and goes as a multicast,
        // which commits what it sent and leaves nothing reserved.
        var first = Enumerable.Range(1, 6).Select(i => $"UA{i:D4}").ToArray();
        await Task.WhenAll(first.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
        await cluster.DriveUntilAsync(channel, first, s => s.Enrollments.IsEmpty, Overspend.Patience);
        Assert.Contains(cluster.SendsFor(token), s => s.Endpoint == "multicast");
        var afterFirst = await SettledAsync(quota);
        Assert.Equal((6, 0), (afterFirst.Used, afterFirst.Reserved));

        // Six more with four left: a group the rest cannot cover whole is not formed; its members reserve one by one,
        // so exactly the budget is sent and the others are held, each with its own place in line.
        var second = Enumerable.Range(1, 6).Select(i => $"UB{i:D4}").ToArray();
        await Task.WhenAll(second.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
        var snapshots = await cluster.DriveUntilAsync(channel, second,
            s => s.Enrollments.IsEmpty || s.Enrollments.All(r => r.HeldForQuotaSince is not null), Overspend.Patience);
        Assert.Equal(10, cluster.SendsFor(token).Sum(s => s.Recipients.Count));
        Assert.Equal(2, snapshots.Count(s => !s.Enrollments.IsEmpty));
        var afterSecond = await SettledAsync(quota);
        Assert.Equal((10, 0, 2), (afterSecond.Used, afterSecond.Reserved, afterSecond.HeldSends));
    }

    /// <summary>The quota once the one-way commits sent after each outcome have arrived.</summary>
    private static async Task<QuotaStatus> SettledAsync(IPlanQuotaGrain quota)
    {
        var deadline = DateTime.UtcNow + Overspend.Patience;
        var status = await quota.GetStatus();
        while (status.Reserved > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            status = await quota.GetStatus();
        }

        return status;
    }
}
