using BenchmarkDotNet.Attributes;
using Stepcast.Grains.Line.Webhooks;

namespace Stepcast.Benchmarks;

/// <summary>The first thing every webhook request pays: HMAC-SHA256 over the raw body.</summary>
[MemoryDiagnoser]
public class LineSignatureBenchmarks
{
    private byte[] _body = [];
    private string _signature = "";

    [Params(1, 100)]
    public int Events { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = WebhookBodies.Mixed(Events);
        _signature = WebhookBodies.Sign(_body);
        if (!LineSignature.IsValid(_body, WebhookBodies.ChannelSecret, _signature))
        {
            throw new InvalidOperationException("The benchmark body's signature does not verify.");
        }

        Console.WriteLine($"// Webhook body with {Events} event(s): {_body.Length} bytes");
    }

    [Benchmark]
    public bool IsValid() => LineSignature.IsValid(_body, WebhookBodies.ChannelSecret, _signature);
}
