using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Stepcast.FakeLine;
using Stepcast.Grains.Friends;
using Stepcast.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Stepcast.Tests.Cluster;

/// <summary>
/// Silos restarted one at a time (SIGTERM, as Kubernetes does) while webhooks keep coming through an API that is
/// an Orleans client of the cluster: every event is either acknowledged and stored, or refused with a 5xx for LINE
/// to redeliver — never acknowledged and then lost.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class RollingRestartTests(PostgresServer postgres, ITestOutputHelper output)
{
    private const string Channel = "rolling";
    private const string Secret = "rolling-channel-secret";

    private sealed class ClusterApiFactory(SiloProcessCluster cluster) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("Stepcast:Topology", "Cluster");
            builder.UseSetting("ConnectionStrings:Stepcast", cluster.ConnectionString);
            builder.UseSetting("Stepcast:Cluster:ClusterId", cluster.ClusterId);
            builder.UseSetting("Stepcast:Cluster:ServiceId", cluster.ClusterId);
        }
    }

    [Fact]
    public async Task Restarting_silos_one_at_a_time_under_webhook_load_loses_no_accepted_event()
    {
        await using var cluster = await SiloProcessCluster.StartAsync(postgres, silos: 3, new Dictionary<string, string>
        {
            ["Stepcast__Channels__0__ChannelId"] = Channel,
            ["Stepcast__Channels__0__ChannelSecret"] = Secret,
        });
        await using var api = new ClusterApiFactory(cluster);
        var http = api.CreateClient();
        var outcomes = new ConcurrentDictionary<string, (LineWebhookBody Body, HttpStatusCode Status)>();
        using var stopLoad = new CancellationTokenSource();
        var next = 0;

        async Task SendFollowsAsync()
        {
            while (!stopLoad.IsCancellationRequested)
            {
                var friend = $"Uroll{Interlocked.Increment(ref next):D5}";
                var body = new LineWebhookBody().Follow(friend);
                var response = await http.SendAsync(body.ToSignedRequest($"/webhooks/line/{Channel}", Secret));
                outcomes[friend] = (body, response.StatusCode);
            }
        }

        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(SendFollowsAsync)).ToArray();
        foreach (var silo in cluster.Silos)
        {
            await silo.StopAsync();
            await cluster.RestartAsync(silo);
            await cluster.WaitForActiveSilosAsync(3);
        }

        await stopLoad.CancelAsync();
        await Task.WhenAll(load);

        Assert.All(outcomes.Values, o => Assert.True(o.Status is HttpStatusCode.OK || (int)o.Status >= 500, $"unexpected {o.Status}"));
        var accepted = outcomes.Where(o => o.Value.Status == HttpStatusCode.OK).Select(o => o.Key).ToList();
        Assert.NotEmpty(accepted);
        output.WriteLine($"{outcomes.Count} follow webhooks during the rolling restart: {accepted.Count} accepted, {outcomes.Count - accepted.Count} refused with 5xx");
        var acceptedStates = await Task.WhenAll(accepted.Select(id => cluster.Client.GetFriend(Channel, id).GetSnapshot()));
        Assert.All(acceptedStates, s => Assert.Equal(FriendStatus.Following, s.Status));

        // LINE redelivers what was refused; each redelivery is then accepted and stored exactly once.
        foreach (var (friend, (body, _)) in outcomes.Where(o => o.Value.Status != HttpStatusCode.OK))
        {
            var response = await http.SendAsync(body.Redelivered().ToSignedRequest($"/webhooks/line/{Channel}", Secret));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(FriendStatus.Following, (await cluster.Client.GetFriend(Channel, friend).GetSnapshot()).Status);
        }
    }
}
