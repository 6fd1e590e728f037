using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Stepcast.FakeLine;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Cluster;
using Stepcast.Tests.Infrastructure;
using Xunit.Abstractions;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Operations;

/// <summary>
/// SIGTERM, as Kubernetes sends it, to real host processes under webhook load: whatever was acknowledged with 200
/// is stored and acted on; whatever was not was answered 503 (or never reached the host), which LINE redelivers.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class GracefulShutdownTests(PostgresServer postgres, ITestOutputHelper output)
{
    private const string Secret = "drain-channel-secret";

    /// <summary>The webhook answers seen by a load of follow events, one new friend per request.</summary>
    private sealed class FollowLoad(HttpClient http, string channel)
    {
        private readonly ConcurrentDictionary<string, string> _outcomes = new();
        private readonly CancellationTokenSource _stop = new();
        private Task[] _senders = [];
        private int _next;

        public IReadOnlyDictionary<string, string> Outcomes => _outcomes;

        public IReadOnlyList<string> Accepted => [.. _outcomes.Where(o => o.Value == "200").Select(o => o.Key)];

        public void Start(int senders) => _senders = [.. Enumerable.Range(0, senders).Select(_ => Task.Run(SendAsync))];

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_senders);
        }

        public async Task WaitForAcceptedAsync(int count)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while (Accepted.Count < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {Accepted.Count} webhooks accepted: {string.Join(", ", _outcomes.Values.Distinct())}");
                await Task.Delay(100);
            }
        }

        private async Task SendAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var friend = $"U{channel}{Interlocked.Increment(ref _next):D6}";
                var request = new LineWebhookBody().Follow(friend).ToSignedRequest($"/webhooks/line/{channel}", Secret);
                try
                {
                    using var response = await http.SendAsync(request);
                    var body = await response.Content.ReadAsStringAsync();
                    _outcomes[friend] = response.StatusCode == HttpStatusCode.ServiceUnavailable && body.Contains("shutting down", StringComparison.Ordinal)
                        ? "503 draining"
                        : ((int)response.StatusCode).ToString();
                }
                catch (HttpRequestException)
                {
                    // The listener is closed: LINE sees a connection error and redelivers, like a 5xx.
                    _outcomes[friend] = "no connection";
                    await Task.Delay(50);
                }
            }
        }
    }

    [Fact]
    public async Task Sigterm_to_an_API_host_under_webhook_load_drains_with_503_and_loses_no_acknowledged_event()
    {
        const string channel = "apidrain";
        await using var cluster = await SiloProcessCluster.StartAsync(postgres, silos: 2, ChannelSettings(channel));
        var port = LoopbackPorts.Free();
        using var api = HostProcess.Start("Stepcast.Api.dll", new Dictionary<string, string>
        {
            ["Urls"] = $"http://127.0.0.1:{port}",
            ["Stepcast__Topology"] = "Cluster",
            ["ConnectionStrings__Stepcast"] = cluster.ConnectionString,
            ["Stepcast__Cluster__ClusterId"] = cluster.ClusterId,
            ["Stepcast__Cluster__ServiceId"] = cluster.ClusterId,
            ["Stepcast__Shutdown__DrainDelay"] = "00:00:05",
            ["Stepcast__Shutdown__Timeout"] = "00:00:30",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Stepcast.Silo.Operations"] = "Information",
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await WaitUntilReadyAsync(http, api);

        var load = new FollowLoad(http, channel);
        load.Start(senders: 4);
        await load.WaitForAcceptedAsync(20);
        api.Terminate();
        await api.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await load.StopAsync();

        output.WriteLine(string.Join(", ", load.Outcomes.Values.GroupBy(v => v).Select(g => $"{g.Key}: {g.Count()}")));
        Assert.Equal(0, api.ExitCode);
        Assert.All(load.Outcomes.Values, o => Assert.Contains(o, new[] { "200", "503", "503 draining", "no connection" }));
        Assert.Contains("503 draining", load.Outcomes.Values);
        var stored = await Task.WhenAll(load.Accepted.Select(id => cluster.Client.GetFriend(channel, id).GetSnapshot()));
        Assert.All(stored, friend => Assert.Equal(FriendStatus.Following, friend.Status));
    }

    [Fact]
    public async Task Sigterm_to_a_silo_while_it_sends_hands_off_its_friends_and_every_acknowledged_follow_is_welcomed_once()
    {
        const string channel = "silodrain";
        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions());
        await using var cluster = await SiloProcessCluster.StartAsync(postgres, silos: 3, new Dictionary<string, string>(ChannelSettings(channel))
        {
            ["Stepcast__Channels__0__AccessToken"] = "drain-channel-token",
            ["Line__ApiBaseUrl"] = line.BaseUrl,
            ["Stepcast__Engine__CatalogCacheDuration"] = "00:00:00",
            ["Stepcast__Shutdown__Timeout"] = "00:00:45",
            // A send cut short by the shutdown is retried by the friend's reminder: make that seconds, not a minute.
            ["Stepcast__Engine__ReminderRetryPeriod"] = "00:00:10",
            ["Stepcast__Engine__SendRetryDelay"] = "00:00:05",
        });
        var scenario = cluster.Client.GetGrain<IScenarioGrain>(ScenarioKey.Format(channel, "welcome"));
        Assert.Empty(await scenario.SaveDraft(Define(channel, "welcome", new FollowTrigger(), Send("hello", "welcome"))));
        Assert.True((await scenario.Publish()).Published);
        await using var api = new ClusterApiFactory(cluster);
        var load = new FollowLoad(api.CreateClient(), channel);

        load.Start(senders: 4);
        await load.WaitForAcceptedAsync(30);
        // Sends are flowing on every silo before one of them is told to stop.
        await WaitForWelcomesAsync(line, load.Accepted.Take(30));
        await cluster.Silos[1].StopAsync();
        await load.WaitForAcceptedAsync(load.Accepted.Count + 20);
        await load.StopAsync();

        var accepted = load.Accepted;
        output.WriteLine(string.Join(", ", load.Outcomes.Values.GroupBy(v => v).Select(g => $"{g.Key}: {g.Count()}")));
        Assert.Equal(0, cluster.Silos[1].ExitCode);
        Assert.All(load.Outcomes.Values, o => Assert.True(o == "200" || o.StartsWith('5'), $"unexpected {o}"));
        var late = await WaitForWelcomesAsync(line, accepted);
        output.WriteLine($"{late.Count} acknowledged friend(s) not yet welcomed when the silo had stopped and the load ended: {string.Join(", ", late)}");
        await Task.Delay(TimeSpan.FromSeconds(3)); // a duplicate would arrive now
        var welcomes = line.Deliveries.Snapshot().SelectMany(d => d.Recipients).GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(accepted, id => Assert.Equal(1, welcomes.GetValueOrDefault(id)));
        Assert.All(welcomes, w => Assert.Equal(1, w.Value));
    }

    private static Dictionary<string, string> ChannelSettings(string channel) => new()
    {
        ["Stepcast__Channels__0__ChannelId"] = channel,
        ["Stepcast__Channels__0__ChannelSecret"] = Secret,
    };

    private static async Task WaitUntilReadyAsync(HttpClient http, HostProcess host)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            Assert.False(host.HasExited, $"the host exited early; log: {host.LogPath}");
            try
            {
                if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            Assert.True(DateTime.UtcNow < deadline, $"the host was not ready within 90 s; log: {host.LogPath}");
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Waits until each of <paramref name="friends"/> was messaged (as a push or a multicast recipient), or gives up
    /// after two minutes for the assertions to name the missing ones. Returns those missing at the first look.
    /// </summary>
    private static async Task<IReadOnlyList<string>> WaitForWelcomesAsync(FakeLineServer line, IEnumerable<string> friends)
    {
        var expected = friends.ToHashSet(StringComparer.Ordinal);
        IReadOnlyList<string>? missingAtFirst = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            var welcomed = line.Deliveries.Snapshot().SelectMany(d => d.Recipients).ToHashSet(StringComparer.Ordinal);
            var missing = expected.Where(id => !welcomed.Contains(id)).ToList();
            missingAtFirst ??= missing;
            if (missing.Count == 0 || DateTime.UtcNow > deadline)
            {
                return missingAtFirst;
            }

            await Task.Delay(250);
        }
    }

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
}
