using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Stepcast.LoadHarness;

/// <summary>
/// Stops the hosts and PostgreSQL servers a run started when the harness itself is stopped (Ctrl+C, SIGTERM),
/// which skips the <c>await using</c> disposals: otherwise they would outlive it and hold ports and memory.
/// </summary>
public static class ChildCleanup
{
    private static readonly ConcurrentDictionary<object, Action> Pending = new();

    // Held so they stay registered. The hosts inside the harness (fake LINE, Orleans client) would otherwise take
    // SIGTERM and Ctrl+C as "stop the host" and leave the harness running its benchmark.
    private static readonly PosixSignalRegistration[] Signals =
    [
        PosixSignalRegistration.Create(PosixSignal.SIGINT, Exit),
        PosixSignalRegistration.Create(PosixSignal.SIGTERM, Exit),
    ];

    static ChildCleanup()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RunAll();
    }

    private static void Exit(PosixSignalContext context)
    {
        RunAll();
        Environment.Exit(128 + (context.Signal == PosixSignal.SIGINT ? 2 : 15));
    }

    /// <summary>Registers <paramref name="stop"/> for <paramref name="owner"/>; dispose the result once it has stopped normally.</summary>
    public static IDisposable Register(object owner, Action stop)
    {
        Pending[owner] = stop;
        return new Registration(owner);
    }

    private static void RunAll()
    {
        foreach (var (owner, stop) in Pending.ToArray())
        {
            if (Pending.TryRemove(owner, out _))
            {
                try
                {
                    stop();
                }
                catch (Exception exception) when (exception is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
                {
                    // Already gone.
                }
            }
        }
    }

    private sealed class Registration(object owner) : IDisposable
    {
        public void Dispose() => Pending.TryRemove(owner, out _);
    }
}
