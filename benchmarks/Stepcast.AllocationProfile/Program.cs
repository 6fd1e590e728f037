using System.Globalization;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
using Stepcast.AllocationProfile;

// Where a host's bytes go: reads a dotnet-trace file of the runtime's GC events (one AllocationTick per ~100 kB
// allocated, with its stack) and sums the sampled bytes by type, by the nearest frame of Stepcast's own code, and by
// the chain of Stepcast's frames that led there (a method allocating little per call but called far too often shows
// up by its callers: the throttled-retry loop that spun ~100 times per friend, session 19).
// Usage: Stepcast.AllocationProfile <trace.nettrace> [units, e.g. events in the traced span] [top rows]
// With --pauses instead: each garbage collection's pause, summed by generation and kind, and the longest ones (what
// a p99 latency meets when it meets the GC). That trace needs only the GC keyword at level 4
// (Microsoft-Windows-DotNETRuntime:0x1:4); the allocation ticks above need level 5.
// With --jit: what the JIT compiled, by tier and by name (a trace of Microsoft-Windows-DotNETRuntime:0x10:5).
if (args is ["--pauses", var pausesTrace, ..] && File.Exists(pausesTrace))
{
    GcPauses.Print(pausesTrace, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 15);
    return 0;
}

if (args is ["--jit", var jitTrace, ..] && File.Exists(jitTrace))
{
    JitActivity.Print(jitTrace, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30);
    return 0;
}

if (args.Length < 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: Stepcast.AllocationProfile <trace.nettrace> [units] [top] | --pauses <trace.nettrace> [top] | --jit <trace.nettrace> [top]");
    return 2;
}

var units = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1;
var top = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30;
// The trace is converted next to itself (.etlx) once; a host that stopped before the trace did leaves no method
// names (its rundown is missing), so stop the trace while the host still runs.
using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0], null, new TraceLogOptions { ContinueOnError = true }));
var byType = new Dictionary<string, long>(StringComparer.Ordinal);
var byFrame = new Dictionary<string, long>(StringComparer.Ordinal);
var byFrameAndType = new Dictionary<string, long>(StringComparer.Ordinal);
var byChain = new Dictionary<string, long>(StringComparer.Ordinal);
long total = 0;
foreach (var traced in log.Events)
{
    if (traced is not GCAllocationTickTraceData tick)
    {
        continue;
    }

    var bytes = tick.AllocationAmount64;
    var type = tick.TypeName ?? "?";
    var frame = NearestOwnFrame(tick) ?? "(runtime, framework or Orleans only)";
    total += bytes;
    Add(byType, type, bytes);
    Add(byFrame, frame, bytes);
    Add(byFrameAndType, $"{frame}  <{type}>", bytes);
    Add(byChain, OwnChain(tick) ?? "(runtime, framework or Orleans only)", bytes);
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sampled {total / 1048576.0:N0} MB; {total / 1024.0 / units:N1} kB per unit ({units:N0} units)"));
Print("by type", byType);
Print("by nearest frame of Stepcast's code", byFrame);
Print("by that frame and type", byFrameAndType);
Print("by the chain of Stepcast's frames that led there, nearest first (async frames: up to where the task resumed)", byChain);
return 0;

static string? NearestOwnFrame(GCAllocationTickTraceData tick)
{
    for (var frame = tick.CallStack(); frame is not null; frame = frame.Caller)
    {
        if (frame.CodeAddress.FullMethodName is { } name && name.StartsWith("Stepcast.", StringComparison.Ordinal))
        {
            return name;
        }
    }

    return null;
}

static string? OwnChain(GCAllocationTickTraceData tick)
{
    var chain = new List<string>(3);
    for (var frame = tick.CallStack(); frame is not null && chain.Count < 3; frame = frame.Caller)
    {
        if (frame.CodeAddress.FullMethodName is { } name && name.StartsWith("Stepcast.", StringComparison.Ordinal))
        {
            var shortName = ShortName(name);
            if (chain.Count == 0 || chain[^1] != shortName)
            {
                chain.Add(shortName);
            }
        }
    }

    return chain.Count == 0 ? null : string.Join(" <- ", chain);
}

// "Stepcast.Grains.Friends.FriendGrain+<AdvanceDueRunsAsync>d__61.MoveNext()" reads "FriendGrain.AdvanceDueRunsAsync".
static string ShortName(string name)
{
    var withoutArguments = GenericArguments().Replace(name.Split('(')[0], "").Replace("..ctor", ".ctor", StringComparison.Ordinal);
    var parts = withoutArguments.Split('.');
    var type = parts.Length >= 2 ? parts[^2] : withoutArguments;
    var method = parts[^1];
    if (type.IndexOf("+<", StringComparison.Ordinal) is var nested and >= 0 && method == "MoveNext")
    {
        var end = type.IndexOf('>', nested);
        return type[..nested] + "." + type[(nested + 2)..end];
    }

    return type + "." + method;
}

static void Add(Dictionary<string, long> sums, string key, long bytes) => sums[key] = sums.GetValueOrDefault(key) + bytes;

void Print(string title, Dictionary<string, long> sums)
{
    Console.WriteLine($"--- {title}");
    foreach (var (name, bytes) in sums.OrderByDescending(p => p.Value).Take(top))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{bytes * 100.0 / total,5:0.0} %  {bytes / 1024.0 / units,8:N2} kB  {(name.Length > 180 ? name[..180] : name)}"));
    }
}

internal static partial class Program
{
    [System.Text.RegularExpressions.GeneratedRegex(@"`\d+\[[^\]]*\]")]
    private static partial System.Text.RegularExpressions.Regex GenericArguments();
}
