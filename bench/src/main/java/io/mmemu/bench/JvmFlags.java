package io.mmemu.bench;

/**
 * The JVM flags every JVM that touches emulated physical memory needs, as constants so that JMH's
 * {@code @Fork(jvmArgsAppend = ...)} can name them: native access for the mmap downcalls and
 * {@code reinterpret}, and {@code jdk.internal.misc} opened for Agrona. The same pair is
 * {@code mmemu.jvmFlags} in the parent pom and {@code mmemu_jvm_flags} in {@code bin/jdk.sh}.
 */
public final class JvmFlags
{
    public static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    public static final String OPEN_MISC = "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED";

    private JvmFlags()
    {
    }
}
