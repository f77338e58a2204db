"""Install kd.  Use `make install` (tools/install.sh) for the full stack:
it builds mmcv with ops and never pulls a CUDA build of torch."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    path = osp.join(HERE, 'requirements', name)
    reqs = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-r'):
                reqs.append(line)
    return reqs


def version():
    scope = {}
    with open(osp.join(HERE, 'kd', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


# The distribution is `kd-toolbox`; the package it installs is `kd`. MMEngine finds a
# `kd::` config through `get_installed_path('kd')`: with no distribution called `kd`
# it takes the directory Python imports `kd` from, which is the repository's kd/ for
# an editable install (a distribution named `kd` would send it to site-packages/kd,
# which an editable install does not have). See kd/utils/setup_env.py.
setup(
    name='kd-toolbox',
    version=version(),
    description='Knowledge distillation for object detection and image '
                'classification on MMEngine / MMDetection',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    # kd/.mim/{configs,tools,model-index.yml} are links to the repository's own
    # (tracked in git; OpenMMLab's setup.py creates the same links at build time); a
    # wheel gets copies, so `kd::` config paths work after a non-editable install.
    # This is the layout openmim expects; `mim` itself is not tested here.
    package_data={'kd': ['.mim/model-index.yml', '.mim/configs/**/*.py',
                         '.mim/configs/**/*.md', '.mim/configs/**/*.yml',
                         '.mim/tools/*.py', '.mim/tools/*.sh', '.mim/tools/**/*.py',
                         '.mim/tools/**/*.sh']},
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
        # mmcv must be built with ops; see tools/install.sh
        'mim': read_requirements('mminstall.txt'),
    },
    license='Apache-2.0',
    zip_safe=False,
)
