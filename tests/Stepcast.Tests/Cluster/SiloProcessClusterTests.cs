using Orleans.Runtime;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Infrastructure;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Cluster;

/// <summary>
/// The cluster topology as it runs in production: separate silo processes on PostgreSQL for membership, state and
/// reminders. Waits are compressed (a day lasts under a second) because separate processes cannot share a fake clock.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SiloProcessClusterTests(PostgresServer postgres)
{
    // 86400 × 1.5: "30 days" pass in about 20 s of real time.
    private static readonly Dictionary<string, string> CompressedWaits = new() { ["Stepcast__Engine__WaitCompression"] = "129600" };

    private static ScenarioDefinition Welcome(string channel) => Define(channel, "welcome", new FollowTrigger(),
        Send("hello", "Welcome"), WaitDays("month", 30), Send("monthly", "A month later"));

    private static async Task PublishAsync(IGrainFactory grains, ScenarioDefinition scenario)
    {
        var grain = grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(scenario.ChannelId, scenario.Id));
        Assert.Empty(await grain.SaveDraft(scenario));
        Assert.True((await grain.Publish()).Published);
    }

    private static async Task<FriendSnapshot[]> WaitForSentAsync(IGrainFactory grains, string channel, IReadOnlyList<string> friends, string stepId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var snapshots = await Task.WhenAll(friends.Select(id => grains.GetFriend(channel, id).GetSnapshot()));
            if (snapshots.All(s => s.History.Any(h => h.Kind == HistoryKind.Sent && h.StepId == stepId)) || DateTime.UtcNow > deadline)
            {
                return snapshots;
            }

            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task Friends_spread_over_every_silo_of_the_cluster()
    {
        await using var cluster = await SiloProcessCluster.StartAsync(postgres, silos: 3);
        var friends = Enumerable.Range(0, 300).Select(i => $"Uspread{i}").ToList();

        await Task.WhenAll(friends.Select(id => cluster.Client.GetFriend("spread", id)
            .UpdateProfile(new UpdateProfileCommand { AddTags = ["seen"] })));
        var statistics = await cluster.Client.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();

        var perSilo = statistics.Where(s => s.GrainType.Contains("FriendGrain", StringComparison.Ordinal))
            .GroupBy(s => s.SiloAddress).ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));
        Assert.Equal(3, perSilo.Count);
        Assert.All(perSilo.Values, count => Assert.InRange(count, 40, 170));
        Assert.Equal(300, perSilo.Values.Sum());
    }

    [Fact]
    public async Task Stopping_and_restarting_the_whole_cluster_loses_no_run_wait_or_history()
    {
        await using var cluster = await SiloProcessCluster.StartAsync(postgres, silos: 2, CompressedWaits);
        await PublishAsync(cluster.Client, Welcome("restart"));
        var friends = Enumerable.Range(0, 40).Select(i => $"Urestart{i}").ToList();
        await Task.WhenAll(friends.Select(id => cluster.Client.GetFriend("restart", id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
        var before = await WaitForSentAsync(cluster.Client, "restart", friends, "hello");
        Assert.All(before, s => Assert.Equal("monthly", Assert.Single(s.Enrollments).StepId));

        foreach (var silo in cluster.Silos)
        {
            await silo.StopAsync();
        }

        foreach (var silo in cluster.Silos)
        {
            await cluster.RestartAsync(silo);
        }

        await cluster.WaitForActiveSilosAsync(2);
        var after = await Task.WhenAll(friends.Select(id => cluster.Client.GetFriend("restart", id).GetSnapshot()));
        for (var i = 0; i < friends.Count; i++)
        {
            // Unless the month already passed during the restart, the run and its due time are exactly as before.
            Assert.True(after[i].Enrollments.SequenceEqual(before[i].Enrollments) || after[i].Enrollments.IsEmpty);
            Assert.Equal(before[i].History, after[i].History.Take(before[i].History.Length));
        }

        var done = await WaitForSentAsync(cluster.Client, "restart", friends, "monthly");
        Assert.All(done, s =>
        {
            Assert.Equal(1, s.History.Count(h => h.Kind == HistoryKind.Sent && h.StepId == "hello"));
            Assert.Equal(1, s.History.Count(h => h.Kind == HistoryKind.Sent && h.StepId == "monthly"));
            Assert.Empty(s.Enrollments);
        });
    }
}
