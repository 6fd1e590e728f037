using Orleans.Core.Internal;
using Orleans.Runtime;
using Stepcast.FakeLine;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Delivery;

/// <summary>
/// Sends refused a permit by the channel's limiter (<c>Throttled</c>) come back within
/// <c>Stepcast:Engine:ThrottledRetryDelay</c>, not a reminder period later. A retry due a few milliseconds on used to
/// fall due while its reminder was being stored, and Orleans skipped that first tick to the next period: a
/// 20,000-friend load run left ~150 friends waiting a minute for it.
/// </summary>
[Collection(ThrottledDrainCollection.Name)]
public sealed class ThrottledRetryTests(ThrottledRetryLineCluster cluster) : IClassFixture<ThrottledRetryLineCluster>
{
    [Fact]
    public Task Every_throttled_send_goes_out_at_the_limits_pace_without_waiting_for_a_reminder_period() =>
        ThrottledBurstDrainsAsync(cluster);

    [Fact]
    public async Task A_step_due_soon_still_goes_out_when_the_activation_that_was_to_wake_it_is_gone()
    {
        var (channel, token) = await PublishStepDueInTwoSecondsAsync();
        var friend = cluster.Friend(channel, "U-moved");
        await friend.Follow(new FollowCommand { At = DateTimeOffset.UtcNow });

        // As when Orleans moves the activation or drops a duplicate of it: the next call finds a new one.
        await friend.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        var snapshot = await friend.GetSnapshot();
        Assert.Empty(cluster.PushesFor(token));
        Assert.Single(snapshot.Enrollments);

        // Without a wake-up armed on activation, the reminder would send it a minute after the due time.
        Assert.Single(await PushesWithinAsync(token, 1, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task A_step_due_soon_still_goes_out_when_the_runtime_collects_the_friend_and_nobody_calls_it()
    {
        var (channel, token) = await PublishStepDueInTwoSecondsAsync();
        await cluster.Friend(channel, "U-collected").Follow(new FollowCommand { At = DateTimeOffset.UtcNow });

        // Every idle activation goes, this friend's with its wake-up timer; then nothing calls the friend.
        await cluster.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Empty(cluster.PushesFor(token));

        Assert.Single(await PushesWithinAsync(token, 1, TimeSpan.FromSeconds(20)));
    }

    /// <summary>
    /// A scenario whose send follows a 20-minute wait, 2 s at the cluster's wait compression (600×): within the
    /// 1-minute reminder period, so only the friend's own wake-up timer sends it on time.
    /// </summary>
    private async Task<(string Channel, string Token)> PublishStepDueInTwoSecondsAsync()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        await cluster.PublishAsync(Define(channel, "later", new FollowTrigger(),
            new WaitStep { Id = "wait", Minutes = 20 }, Send("hello", "A little later")));
        return (channel, token);
    }

    /// <summary>The channel's pushes once there are <paramref name="count"/> of them, or when <paramref name="limit"/> is up.</summary>
    internal static async Task<IReadOnlyList<FakeLineDelivery>> PushesWithinAsync(
        LineDeliveryCluster cluster, string token, int count, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (cluster.PushesFor(token).Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        return cluster.PushesFor(token);
    }

    private Task<IReadOnlyList<FakeLineDelivery>> PushesWithinAsync(string token, int count, TimeSpan limit) =>
        PushesWithinAsync(cluster, token, count, limit);

    /// <summary>
    /// 80 friends throttled at 20 pushes a second, each with its own retries; nothing here nudges a friend, so a retry
    /// left to a missed reminder tick would only come after the one-minute period.
    /// </summary>
    internal static async Task ThrottledBurstDrainsAsync(LineDeliveryCluster cluster)
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome!")));
        var friends = Enumerable.Range(1, 80).Select(i => $"T{i:D3}").ToArray();

        await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));

        // 80 pushes at 20 a second take 4 s.
        var pushes = await PushesWithinAsync(cluster, token, friends.Length, TimeSpan.FromSeconds(30));
        var sent = pushes.Select(p => p.Recipients.Single()).ToHashSet();
        var missing = friends.Where(f => !sent.Contains(f)).ToArray();
        var details = await Task.WhenAll(missing.Take(3).Select(async id =>
        {
            var snapshot = await cluster.Friend(channel, id).GetSnapshot();
            return $"{id}: due {string.Join(",", snapshot.Enrollments.Select(e => e.DueAt.ToString("HH:mm:ss.fff")))} now {DateTimeOffset.UtcNow:HH:mm:ss.fff}; " +
                string.Join(" | ", snapshot.History.TakeLast(3).Select(h => $"{h.Kind} {h.Detail}"));
        }));
        Assert.True(missing.Length == 0, $"{missing.Length} of {friends.Length} not pushed after 30 s: {string.Join(" // ", details)}");
    }
}

/// <summary>
/// A burst that outlasts the time one run may hold a friend retrying (<c>ThrottledRetryWindow</c>, 300 ms here against
/// a 4 s drain): past it, every friend must wake itself for its next retry. Left to its reminder, a retry due within
/// milliseconds was skipped to the next period: without the wake-up, 30 and 42 of 80 friends were still waiting at 30 s.
/// </summary>
[Collection(ThrottledDrainCollection.Name)]
public sealed class ThrottledPastTheRetryWindowTests(ShortRetryWindowLineCluster cluster) : IClassFixture<ShortRetryWindowLineCluster>
{
    [Fact]
    public Task Sends_throttled_longer_than_one_run_may_hold_the_friend_still_go_out_at_the_limits_pace() =>
        ThrottledRetryTests.ThrottledBurstDrainsAsync(cluster);
}

/// <summary>
/// A push limit of 20 a second with a 100 ms wait for a permit, so most of a burst is throttled and retried within
/// 50 ms; the reminder period is a minute, so a retry that missed its reminder tick would stand out.
/// </summary>
public sealed class ThrottledRetryLineCluster : LineDeliveryCluster
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Stepcast:RateLimits:Push:Limit", "20"),
        new("Stepcast:Delivery:MaxPermitWait", "00:00:00.100"),
        new("Stepcast:Engine:ThrottledRetryDelay", "00:00:00.050"),
        new("Stepcast:Engine:ReminderRetryPeriod", "00:01:00"),
    ];
}

/// <summary>The same limits, with one run of due steps holding a throttled friend for at most 300 ms.</summary>
public sealed class ShortRetryWindowLineCluster : LineDeliveryCluster
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Stepcast:RateLimits:Push:Limit", "20"),
        new("Stepcast:Delivery:MaxPermitWait", "00:00:00.100"),
        new("Stepcast:Engine:ThrottledRetryDelay", "00:00:00.050"),
        new("Stepcast:Engine:ThrottledRetryWindow", "00:00:00.300"),
        new("Stepcast:Engine:ReminderRetryPeriod", "00:01:00"),
    ];
}

/// <summary>
/// The drains above time a burst against a 30 s deadline, so they run alone, after the parallel tests. They caught a
/// lost wake-up: a timer that fired a fraction of a millisecond early re-armed through a check that, a moment later,
/// found the step due and left it to a run nobody was making (1 friend in 80, in about one run in four).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ThrottledDrainCollection
{
    public const string Name = "Throttled drains, run alone";
}
