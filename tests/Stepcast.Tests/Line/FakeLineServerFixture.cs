using Microsoft.Extensions.Options;
using Stepcast.FakeLine;
using Stepcast.Grains.Line;

namespace Stepcast.Tests.Line;

/// <summary>One fake LINE server per test class; tests isolate themselves by using their own channel token.</summary>
public sealed class FakeLineServerFixture : IAsyncLifetime
{
    public FakeLineServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await FakeLineServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public LineMessagingClient CreateClient(TimeSpan? timeout = null) => CreateClient(Server.BaseUrl, timeout);

    public static LineMessagingClient CreateClient(string baseUrl, TimeSpan? timeout = null) =>
        new(new HttpClient(), Options.Create(new LineClientOptions
        {
            ApiBaseUrl = new Uri(baseUrl),
            DataApiBaseUrl = new Uri(baseUrl),
            Timeout = timeout ?? TimeSpan.FromSeconds(10),
        }));
}
