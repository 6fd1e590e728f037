using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Line;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Line;

/// <summary>The LINE client as a host registers it (<see cref="LineServiceCollectionExtensions.AddLineMessagingClient"/>).</summary>
public sealed class LineClientRegistrationTests
{
    [Fact]
    public async Task Calls_beyond_the_connection_limit_wait_for_a_connection_instead_of_opening_more()
    {
        // A LINE that accepts connections and never answers: every call holds its connection until it times out.
        using var silentLine = new TcpListener(IPAddress.Loopback, 0);
        silentLine.Start();
        var accepted = new List<TcpClient>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var connection = await silentLine.AcceptTcpClientAsync(stop.Token);
                lock (accepted)
                {
                    accepted.Add(connection);
                }
            }
        });
        var baseUrl = $"http://127.0.0.1:{((IPEndPoint)silentLine.LocalEndpoint).Port}";
        using var host = BuildHost(new()
        {
            ["Line:ApiBaseUrl"] = baseUrl,
            ["Line:DataApiBaseUrl"] = baseUrl,
            ["Line:Timeout"] = "00:00:08",
            ["Line:MaxConnections"] = "2",
        });
        var client = host.Services.GetRequiredService<ILineMessagingClient>();
        int Connections()
        {
            lock (accepted)
            {
                return accepted.Count;
            }
        }

        var calls = Enumerable.Range(0, 10)
            .Select(i => client.PushAsync("token", new LinePushRequest($"U{i}", [LineMessage.Text("hi")]), Guid.NewGuid()))
            .ToArray();

        // While all ten are waiting (each gives up after 8 s), two connections are open, not ten.
        await Eventually.UntilAsync(() => Task.FromResult(Connections()), count => count >= 2, TimeSpan.FromSeconds(5));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Equal(2, Connections());

        // The two sent time out (LINE may have them); the others never left, and say so.
        var results = await Task.WhenAll(calls);
        Assert.True(results.Count(r => r.Kind == LineResultKind.Timeout) >= 2);
        Assert.Contains(results, r => r.Kind == LineResultKind.NotSent);
        Assert.All(results, r => Assert.True(r.Kind is LineResultKind.Timeout or LineResultKind.NotSent, r.Kind.ToString()));
        lock (accepted)
        {
            accepted.ForEach(connection => connection.Dispose());
        }

        await stop.CancelAsync();
        try
        {
            await accepting;
        }
        catch (OperationCanceledException)
        {
            // The listener was waiting for the next connection: that is how it stops.
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    public async Task A_connection_limit_below_one_stops_the_start_naming_the_setting(string value)
    {
        using var host = BuildHost(new() { ["Line:MaxConnections"] = value });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Line:MaxConnections", error.Message);
    }

    private static IHost BuildHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLineMessagingClient();
        return builder.Build();
    }
}
