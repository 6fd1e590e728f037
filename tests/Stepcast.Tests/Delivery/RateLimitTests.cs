using Stepcast.Grains.Friends;
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
