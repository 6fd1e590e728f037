using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Friends;
using Stepcast.Grains.RateLimiting;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Delivery;

[Collection(RateLimitedLineCollection.Name)]
public sealed class RateLimitTests(RateLimitedLineCluster cluster)
{
    [Fact]
    public async Task Two_silos_together_stay_within_the_channels_push_limit()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome!")));
        var friends = Enumerable.Range(1, 300).Select(i => $"R{i:D4}").ToArray();
        await WarmUpAsync();

        // Friend grains land on both silos, so both silos' limiters draw on the one channel budget.
        await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
        var snapshots = await cluster.DriveUntilAsync(channel, friends, s => s.Enrollments.IsEmpty, TimeSpan.FromSeconds(90));

        Assert.All(snapshots, s => Assert.Empty(s.Enrollments));
        var pushes = cluster.PushesFor(token);
        var perSecond = pushes.GroupBy(p => p.Timestamp.ToUnixTimeSeconds()).OrderBy(g => g.Key)
            .Select(g => $"{g.Key % 100}:{g.Count()}");
        Assert.True(cluster.Line.Stats.RateLimited(token, "push") == 0,
            $"{cluster.Line.Stats.RateLimited(token, "push")} push(es) answered 429; accepted per second: {string.Join(" ", perSecond)}");
        Assert.Equal(friends.Order(), pushes.Select(p => p.Recipients.Single()).Order());
        Assert.Equal(friends.Length, cluster.Line.Stats.Requests(token, "push"));
    }

    /// <summary>
    /// A silo's sends waiting for permits are served in the order they asked, so in a burst held to LINE's pace the
    /// friends due first go first. Permits come a slot's budget at a time (50 a second over 8 active slots: 6 or 7),
    /// and the callers of one lease may resume in any order, but not ahead of an earlier lease's (a lease apart at most
    /// when the thread pool is starved by the tests beside this one). Every waiter waking on its own was 115 places out.
    /// </summary>
    [Fact]
    public async Task Sends_waiting_for_a_permit_are_served_in_the_order_they_asked()
    {
        // A limiter of this test's own, on the cluster's client, drawing on a fresh channel's push budget in the silos.
        var limiter = new ChannelRateLimiter(cluster.Grains, Options.Create(new RateLimitOptions()), TimeProvider.System);
        var channel = NewChannel();
        const int callers = 120;
        var served = new ConcurrentQueue<int>();

        var all = Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
        {
            Assert.True(await limiter.AcquireAsync(channel, LineApis.Push, TimeSpan.FromSeconds(30), CancellationToken.None));
            served.Enqueue(caller);
        }));
        // A fresh channel has no permits yet: the line is long at first (stepcast.rate_limit.waiting), then empty.
        Assert.True(WaitingFor(limiter, channel) > callers / 2, $"{WaitingFor(limiter, channel)} waiting at first");
        await all;
        Assert.Equal(0, WaitingFor(limiter, channel));

        var order = served.ToArray();
        var furthest = order.Select((caller, rank) => Math.Abs(caller - rank)).Max();
        Assert.True(furthest <= 21, $"a caller was served {furthest} places from where it asked: {string.Join(' ', order)}");
    }

    private static int WaitingFor(ChannelRateLimiter limiter, string channel) =>
        limiter.WaitingSends().Single(line => line.ChannelId == channel && line.Api == LineApis.Push).Waiting;

    /// <summary>A caller that stops waiting leaves the line: the permits go to those still in it.</summary>
    [Fact]
    public async Task A_caller_that_stops_waiting_takes_no_permit_from_those_behind_it()
    {
        var limiter = new ChannelRateLimiter(cluster.Grains, Options.Create(new RateLimitOptions()), TimeProvider.System);
        var channel = NewChannel();
        using var cancelled = new CancellationTokenSource();

        // Ahead in line: one gives up at once, one is cancelled while it waits; then twenty that wait.
        var givesUp = limiter.AcquireAsync(channel, LineApis.Push, TimeSpan.Zero, CancellationToken.None).AsTask();
        var cancels = limiter.AcquireAsync(channel, LineApis.Push, TimeSpan.FromSeconds(30), cancelled.Token).AsTask();
        var waiting = Enumerable.Range(0, 20)
            .Select(_ => limiter.AcquireAsync(channel, LineApis.Push, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask())
            .ToList();
        await cancelled.CancelAsync();

        Assert.False(await givesUp);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancels);
        Assert.All(await Task.WhenAll(waiting), Assert.True);
        Assert.Equal(0, WaitingFor(limiter, channel));
    }

    /// <summary>
    /// Pushes on another channel first, so both silos have compiled the send path and opened connections: a cold
    /// first push can take longer than the quiet gap, which would be measuring the JIT, not the limiter.
    /// </summary>
    private async Task WarmUpAsync()
    {
        var channel = NewChannel();
        await cluster.RegisterLineChannelAsync(channel);
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome!")));
        var friends = Enumerable.Range(1, 20).Select(i => $"W{i:D2}").ToArray();
        await Task.WhenAll(friends.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
        await cluster.DriveUntilAsync(channel, friends, s => s.Enrollments.IsEmpty, TimeSpan.FromSeconds(30));
    }
}
