namespace Stepcast.FakeLine;

/// <summary>
/// Standalone entry point: <c>dotnet run --project tests/FakeLine -- --urls http://127.0.0.1:5999</c>
/// (options: <c>--FakeLine:MonthlyQuota=N</c>, <c>--FakeLine:RateLimitPerSecond=N</c>, <c>--FakeLine:BroadcastRecipientCount=N</c>).
/// </summary>
public static class FakeLineProgram
{
    public static async Task Main(string[] args)
    {
        await using var server = await FakeLineServer.StartAsync(options: null, args);
        Console.WriteLine($"Fake LINE server listening on {server.BaseUrl} (Ctrl+C to stop)");
        await server.WaitForShutdownAsync();
    }
}
