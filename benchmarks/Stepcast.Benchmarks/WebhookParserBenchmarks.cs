using BenchmarkDotNet.Attributes;
using Stepcast.Grains.Line.Webhooks;

namespace Stepcast.Benchmarks;

/// <summary>Parsing a verified webhook body into events (mixed follow, text message, unfollow).</summary>
[MemoryDiagnoser]
public class WebhookParserBenchmarks
{
    private byte[] _body = [];

    [Params(1, 10, 100)]
    public int Events { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = WebhookBodies.Mixed(Events);
        var parsed = WebhookParser.Parse(_body);
        if (parsed.Events.Count != Events)
        {
            throw new InvalidOperationException($"Parsed {parsed.Events.Count} events, expected {Events}.");
        }
    }

    [Benchmark]
    public WebhookPayload Parse() => WebhookParser.Parse(_body);
}
