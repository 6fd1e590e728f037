using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

[Collection(EngineClusterCollection.Name)]
public sealed class ScenarioRunTests(EngineCluster cluster)
{
    [Fact]
    public async Task Follow_runs_welcome_then_waits_seven_days_for_the_next_send()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(),
            Send("hello", "Welcome!"), WaitDays("wait", 7), Send("second", "Second visit coupon")));

        var followedAt = cluster.Clock.GetUtcNow();
        var result = await cluster.Friend(channel, "U1").Follow(new FollowCommand { At = followedAt });

        Assert.Equal(["welcome"], result.EnteredScenarios.ToArray());
        var first = await cluster.WaitForDeliveriesAsync(channel, "U1", 1);
        Assert.Equal(["hello"], StepIds(first));

        await cluster.AdvanceAsync(TimeSpan.FromDays(6));
        Assert.Single(cluster.DeliveriesTo(channel, "U1"));

        await cluster.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(5));
        var all = await cluster.WaitForDeliveriesAsync(channel, "U1", 2);
        Assert.Equal(["hello", "second"], StepIds(all));
        Assert.InRange(all[1].SentAt - followedAt, TimeSpan.FromDays(7), TimeSpan.FromDays(7) + TimeSpan.FromMinutes(15));
    }
}
